"""Наличие: free / booked / sold stock, where it is, what it costs, and the matching premises."""

from __future__ import annotations

import math
from pathlib import Path

import streamlit as st

from kontur import labels, ui
from kontur.auth import session as auth_session
from kontur.models import Feature, PremiseType, PurchaseOption
from kontur.queries import PremiseFilters, availability
from kontur.ui import charts, tables
from kontur.ui.fmt import STATUS_DOT
from kontur.ui.map import stock_map
from kontur.ui.premise_card import linked_premise_id, premise_card

BOOKINGS_PAGE = "pages/bookings.py"

auth_session.require_app_run()  # a deep link before any app run: rerun through app.py's gate
st.title("Наличие помещений")
ui.stop_if_cache_empty()
scope = ui.current_scope()
bounds = ui.read(availability.bounds, scope)
if bounds is None:
    ui.no_results()
    st.stop()

# Widget keys carry the scope: a new city/project/building gets sliders with its own ranges.
k = f"{scope.city_id}-{scope.project_id}-{scope.building_id}"
with st.expander("Фильтры", expanded=True, icon=":material/tune:"):
    c1, c2, c3, c4 = st.columns(4)
    types = c1.multiselect(
        "Тип",
        [t.value for t in PremiseType],
        format_func=lambda v: labels.label_of(PremiseType, v),
        placeholder="Все типы",
        key="av_types",
    )
    rooms = c2.multiselect(
        "Комнат", list(bounds.rooms), format_func=labels.rooms_label, placeholder="Любое", key=f"av_rooms_{k}"
    )
    features = c3.multiselect(
        "Особенности (все выбранные)",
        [f.value for f in Feature],
        format_func=lambda v: labels.label_of(Feature, v),
        placeholder="Любые",
        key="av_features",
    )
    options = c4.multiselect(
        "Способ покупки (любой из)",
        [o.value for o in PurchaseOption],
        format_func=lambda v: labels.label_of(PurchaseOption, v),
        placeholder="Любой",
        key="av_options",
    )
    s1, s2, s3 = st.columns(3)
    lo_m, hi_m = math.floor(bounds.price[0] / 1e5) / 10, math.ceil(bounds.price[1] / 1e5) / 10
    price_m = s1.slider(
        "Цена, млн ₽",
        lo_m,
        max(hi_m, lo_m + 0.1),
        (lo_m, max(hi_m, lo_m + 0.1)),
        step=0.1,
        format="%.1f",
        key=f"av_price_{k}",
    )
    lo_a, hi_a = float(math.floor(bounds.size[0])), float(math.ceil(bounds.size[1]))
    size = s2.slider(
        "Площадь, м²",
        lo_a,
        max(hi_a, lo_a + 1),
        (lo_a, max(hi_a, lo_a + 1)),
        step=1.0,
        format="%.0f",
        key=f"av_size_{k}",
    )
    lo_f, hi_f = bounds.floor
    floor = s3.slider("Этаж", lo_f, max(hi_f, lo_f + 1), (lo_f, max(hi_f, lo_f + 1)), key=f"av_floor_{k}")

# A slider left at its full range is no filter at all (and keeps the cached reads shared).
f = PremiseFilters(
    scope=scope,
    types=tuple(types),
    rooms=tuple(int(r) for r in rooms),
    price=None
    if price_m == (lo_m, max(hi_m, lo_m + 0.1))
    else (round(price_m[0] * 1e6), round(price_m[1] * 1e6)),
    size=None if size == (lo_a, max(hi_a, lo_a + 1)) else size,
    floor=None if floor == (lo_f, max(hi_f, lo_f + 1)) else floor,
    features=tuple(features),
    purchase_options=tuple(options),
)

by_type = ui.read(availability.status_by_type, f)
if by_type.empty:
    ui.no_results()
    st.stop()

# --- KPI cards -------------------------------------------------------------------------------
total = int(by_type["n"].sum())
by_status = by_type.groupby("status")["n"].sum()
cols = st.columns(4)
cols[0].metric("Всего помещений", ui.fmt_int(total), border=True)
for col, status in zip(cols[1:], ("free", "booked", "sold"), strict=True):
    n = int(by_status.get(status, 0))
    col.metric(
        labels.PREMISE_STATUS[status],
        ui.fmt_int(n),
        delta=ui.fmt_pct(n / total),
        delta_color="off",
        delta_arrow="off",
        border=True,
    )

type_cols = st.columns(len(PremiseType))
for col, ptype in zip(type_cols, PremiseType, strict=True):
    rows = by_type[by_type["type"] == ptype.value].set_index("status")["n"]
    n_type = int(rows.sum())
    lines = [f"**{labels.PREMISE_TYPE_PLURAL[ptype]}** · {ui.fmt_int(n_type)}"]
    for status in ("free", "booked", "sold"):
        n = int(rows.get(status, 0))
        share = ui.fmt_pct(n / n_type) if n_type else "—"
        lines.append(f"{STATUS_DOT[status]} {labels.PREMISE_STATUS[status]}: **{ui.fmt_int(n)}** ({share})")
    # one element per card, not four: every element is drawn again on every run of the page
    col.container(border=True).markdown("  \n".join(lines))

# --- one view at a time: only the chosen one is read, built and sent ----------------------------

VIEWS = {"breakdown": "Разбивка", "map": "Карта", "distributions": "Цены и площади"}
LEVELS = {"city": "По городам", "project": "По проектам", "building": "По зданиям"}


@st.fragment
@auth_session.gated  # a fragment run skips app.py's gate: the gate again first
def views() -> None:
    view = st.segmented_control(
        "Вид", list(VIEWS), format_func=VIEWS.get, default="breakdown", required=True, key="av_view"
    )
    if view == "map":
        st.subheader("Свободные помещения на карте")
        stock_map(ui.settings(), f, key="av_map")  # a click that scopes the sidebar reruns the app
    elif view == "distributions":
        for col, metric in zip(st.columns(2), charts.HISTOGRAMS, strict=True):
            col.plotly_chart(
                ui.view(charts.distribution_of, f, metric), width="stretch", key=f"av_hist_{metric}"
            )
    else:
        st.subheader("Разбивка")
        # lazy tabs: only the open one's table is read and sent
        tabs = st.tabs(list(LEVELS.values()), on_change="rerun", key="av_level")
        for tab, level in zip(tabs, LEVELS, strict=True):
            if tab.open:
                tab.dataframe(
                    tables.breakdown(ui.read(availability.breakdown, f, level)),
                    hide_index=True,
                    column_config=tables.BREAKDOWN_CONFIG,
                    height=320,
                )


views()

# --- the matching premises, a page at a time, and the card: a fragment, so turning a page or
# picking a row reruns only this part --------------------------------------------------------------


@st.fragment
@auth_session.gated  # a fragment run skips app.py's gate: the gate again first
def premises_and_card() -> None:
    st.subheader("Подходящие помещения")
    pages = tables.pages_of(total)
    # keyed by the filters (and the page count): new filters start again at page 1
    page_key = f"av_page_{tables.filters_key(f)}_{pages}"
    page = int(st.session_state.get(page_key, 1))
    listing = ui.read(availability.premises_list, f, *tables.page_window(page))
    st.caption(tables.page_caption(page, len(listing), total))
    event = st.dataframe(
        ui.view(tables.premises_page, f, page),
        hide_index=True,
        column_config=tables.PREMISES_CONFIG,
        height=420,
        row_height=56,  # room for the floor-plan thumbnail
        on_select="rerun",
        selection_mode="single-row",
        # each page its own selection: a row picked on one page never names a row of another
        key="av_table" if page == 1 else f"av_table_{page}",
    )
    pager, download = st.columns([4, 1], vertical_alignment="center")
    with pager:
        st.pagination(pages, key=page_key)
    with download:
        tables.download_csv(tables.premises_export(f), "nalichie.csv", key="av_csv")

    # the premise card: the selected row's, else the one a link names (`?premise=ID`)
    picked = event.selection.rows if event is not None else []
    in_list = picked and picked[0] < len(listing)
    card_id = int(listing["id"].iloc[picked[0]]) if in_list else linked_premise_id()
    row = None
    if card_id is not None:
        # the card's own read: every photo, the project and building (the list: the first photo only);
        # a named tuple, not a Series: `row.size` must be the premise's area, not Series.size
        row = next(ui.read(availability.premise, card_id).itertuples(index=False), None)
        if row is None:
            st.info(f"Помещения № {card_id} нет в кэше.", icon=":material/search_off:")
    if row is not None:
        bookable = (Path(__file__).resolve().parent.parent / BOOKINGS_PAGE).exists()
        if premise_card(row, bookable=bookable, key="av_card"):
            st.session_state[ui.PRESELECTED_PREMISE_KEY] = int(row.id)
            st.switch_page(BOOKINGS_PAGE)


premises_and_card()
