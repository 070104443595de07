"""Наличие: free / booked / sold stock, where it is, what it costs, and the matching premises."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from kontur import labels, ui
from kontur.models import Feature, PremiseType, PurchaseOption
from kontur.queries import PremiseFilters, availability

BOOKINGS_PAGE = "pages/bookings.py"

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
    with col.container(border=True):
        st.markdown(f"**{labels.PREMISE_TYPE_PLURAL[ptype]}** · {ui.fmt_int(n_type)}")
        for status in ("free", "booked", "sold"):
            n = int(rows.get(status, 0))
            share = ui.fmt_pct(n / n_type) if n_type else "—"
            st.markdown(
                f"<span style='color:{ui.STATUS_COLORS[status]}'>●</span> {labels.PREMISE_STATUS[status]}: "
                f"**{ui.fmt_int(n)}** ({share})",
                unsafe_allow_html=True,
            )

# --- breakdown and map ----------------------------------------------------------------------
left, right = st.columns([3, 2])
with left:
    st.subheader("Разбивка")
    tabs = st.tabs(["По городам", "По проектам", "По зданиям"])
    for tab, level in zip(tabs, ("city", "project", "building"), strict=True):
        table = ui.read(availability.breakdown, f, level)
        # whole percent on the bar: «66 %» reads the same in every language (no decimal separator)
        table = table.assign(free_share=table["free_share"] * 100)
        counts = ("Свободно", "Забронировано", "Продано", "Всего")
        tab.dataframe(
            table.rename(columns=labels.AVAILABILITY_COLUMNS),
            hide_index=True,
            column_config={
                **{c: st.column_config.NumberColumn(format="localized") for c in counts},
                "Доля свободных": st.column_config.ProgressColumn(
                    format="%.0f %%", min_value=0, max_value=100
                ),
            },
            height=320,
        )
with right:
    st.subheader("Свободные помещения на карте")
    cities = ui.read(availability.city_map, f)
    if cities.empty:
        st.caption("Нет городов с координатами.")
    else:
        size_ref = max(float(cities["free"].max()), 1.0)
        fig = go.Figure(
            go.Scatter(
                x=cities["long"],
                y=cities["lat"],
                mode="markers+text",
                text=cities["name"],
                # neighbouring cities (the Urals) alternate their labels above and below the marker
                textposition=[
                    "top center" if i % 2 == 0 else "bottom center"
                    for i in cities["long"].rank(method="first").astype(int)
                ],
                textfont={"size": 11},
                marker={
                    "size": 12 + 38 * (cities["free"] / size_ref) ** 0.5,
                    "color": ui.STATUS_COLORS["free"],
                    "opacity": 0.75,
                    "line": {"width": 1, "color": "white"},
                },
                customdata=cities[["projects", "free"]],
                hovertemplate="<b>%{text}</b><br>Проектов: %{customdata[0]}<br>Свободно: %{customdata[1]:,}"
                "<extra></extra>",
            )
        )
        # No tile server on a closed network: a plain lon/lat plane, degrees kept roughly to scale.
        mid_lat = float(cities["lat"].mean())
        fig.update_layout(
            height=340,
            margin={"l": 10, "r": 10, "t": 10, "b": 10},
            showlegend=False,
            xaxis={"title": "Долгота", "showgrid": True, "zeroline": False},
            yaxis={
                "title": "Широта",
                "showgrid": True,
                "zeroline": False,
                "scaleanchor": "x",
                "scaleratio": 1 / max(math.cos(math.radians(mid_lat)), 0.2),
            },
            separators=", ",
        )
        st.plotly_chart(fig, width="stretch", key="av_map")

# --- distributions --------------------------------------------------------------------------
d1, d2 = st.columns(2)
# metric -> (title, axis unit, divisor): prices in millions, prices per m² in thousands of roubles
HISTOGRAMS = {
    "price": (d1, "Распределение цены", "млн ₽", 1e6),
    "price_per_m2": (d2, "Цена за м²", "тыс. ₽ за м²", 1e3),
}
for metric, (col, title, unit, div) in HISTOGRAMS.items():
    hist = ui.read(availability.distribution, f, metric)
    fig = go.Figure()
    for status in ("free", "booked", "sold"):
        part = hist[hist["status"] == status]
        lo, hi = part["bin_start"] / div, part["bin_end"] / div
        fig.add_bar(
            x=(lo + hi) / 2,
            y=part["n"],
            width=hi - lo,
            name=labels.PREMISE_STATUS[status],
            marker_color=ui.STATUS_COLORS[status],
            customdata=pd.concat([lo, hi], axis=1),
            hovertemplate=f"%{{customdata[0]:,.1f}} – %{{customdata[1]:,.1f}} {unit}: "
            "%{y:,}<extra></extra>",
        )
    fig.update_layout(
        title=title,
        barmode="stack",
        height=320,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis_title=unit,
        yaxis_title="Помещений",
        separators=", ",
        legend={"orientation": "h", "y": -0.25},
    )
    col.plotly_chart(fig, width="stretch", key=f"av_hist_{metric}")

# --- the matching premises ------------------------------------------------------------------
listing = ui.read(availability.premises_list, f)
st.subheader("Подходящие помещения")
if total > len(listing):
    st.caption(
        f"Показаны {ui.fmt_int(len(listing))} самых доступных по цене из {ui.fmt_int(total)}. "
        "Выберите строку — откроется карточка помещения."
    )
else:
    st.caption("Выберите строку — откроется карточка помещения.")
photos = ui.media_urls(listing["photo"])
shown = pd.DataFrame(
    {
        "Планировка": photos,
        "Город": listing["city"],
        "Проект": listing["project"],
        "Здание": listing["building"],
        "Секция": listing["section"],
        "№": listing["number"],
        "Тип": [labels.label_of(PremiseType, v) for v in listing["type"]],
        # rooms mean something for apartments only: «Студия», «2-комн.»; a parking space shows «—»
        "Комнат": [
            labels.rooms_label(int(r)) if t == "apartment" else "—"
            for r, t in zip(listing["rooms"], listing["type"], strict=True)
        ],
        "Этаж": listing["floor"],
        "Площадь, м²": listing["size"].round(1),
        "Цена, ₽": listing["price"],
        "Цена за м², ₽": listing["price_per_m2"],
        "Статус": [labels.PREMISE_STATUS[s] for s in listing["status"]],
        "Особенности": [", ".join(labels.label_of(Feature, x) for x in v) for v in listing["feature"]],
        "Способы покупки": [
            ", ".join(labels.label_of(PurchaseOption, x) for x in v) for v in listing["purchase_option"]
        ],
        "Ссылка": listing["link"],
    }
)
event = st.dataframe(
    shown,
    hide_index=True,
    column_config={
        "Планировка": st.column_config.ImageColumn(width="small"),
        # "localized": the manager's browser groups digits its own way (Russian: «6 250 000»)
        "Площадь, м²": st.column_config.NumberColumn(format="localized"),
        "Цена, ₽": st.column_config.NumberColumn(format="localized"),
        "Цена за м², ₽": st.column_config.NumberColumn(format="localized"),
        "Ссылка": st.column_config.LinkColumn(display_text="Открыть"),
    },
    height=420,
    row_height=56,  # room for the floor-plan thumbnail
    on_select="rerun",
    selection_mode="single-row",
    key="av_table",
)
st.download_button(
    "Скачать CSV",
    shown.to_csv(index=False).encode("utf-8-sig"),
    file_name="nalichie.csv",
    mime="text/csv",
    icon=":material/download:",
)

# --- the premise card -------------------------------------------------------------------------
picked = event.selection.rows if event is not None else []
if picked and picked[0] < len(listing):
    # a named tuple, not a Series: `row.size` must be the premise's area, not Series.size
    row = next(listing.iloc[[picked[0]]].itertuples(index=False))
    with st.container(border=True, key="av_card"):
        st.markdown(f"#### {ui.premise_caption(row)}")
        plan, facts, project = st.columns([2, 3, 2])
        if photos[picked[0]]:
            plan.image(photos[picked[0]], caption="Планировка", width="stretch")
        status = labels.PREMISE_STATUS[row.status]
        section = "—" if pd.isna(row.section) else row.section
        facts.markdown(
            f"**Статус:** <span style='color:{ui.STATUS_COLORS[row.status]}'>●</span> {status}  \n"
            f"**Цена:** {ui.fmt_rub(row.price)} · **за м²:** {ui.fmt_rub(row.price_per_m2)}  \n"
            f"**Площадь:** {ui.fmt_area(row.size)} · **этаж:** {row.floor}  \n"
            f"**Адрес:** {row.city}, {row.building}, секция {section}  \n"
            f"**Особенности:** {', '.join(labels.label_of(Feature, x) for x in row.feature) or '—'}  \n"
            f"**Способы покупки:** "
            f"{', '.join(labels.label_of(PurchaseOption, x) for x in row.purchase_option) or '—'}",
            unsafe_allow_html=True,
        )
        can_book = row.status == "free" and (Path(__file__).resolve().parent.parent / BOOKINGS_PAGE).exists()
        book = (
            facts.button("Забронировать", type="primary", icon=":material/event_available:", key="av_book")
            if can_book
            else False
        )
        if book:
            st.session_state[ui.PRESELECTED_PREMISE_KEY] = int(row.id)
            st.switch_page(BOOKINGS_PAGE)
        facade = ui.media_url(row.project_photo)
        if facade:
            project.image(facade, caption=f"Проект «{row.project}»", width="stretch")
        if row.link:
            project.link_button("Страница проекта", row.link, icon=":material/open_in_new:")
