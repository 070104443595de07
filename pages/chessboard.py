"""Шахматка: one building's premises by section and floor, coloured by status; book a free one."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from kontur import labels, ui
from kontur.auth import session as auth_session
from kontur.models import Feature, PremiseType
from kontur.queries import PremiseFilters, chessboard, scope
from kontur.ui import chessboard as board
from kontur.ui import selection_view
from kontur.ui.fmt import list_labels
from kontur.ui.safe import md, plain

BOOKINGS_PAGE = "pages/bookings.py"

auth_session.require_app_run()  # a deep link before any app run: rerun through app.py's gate
st.title("Шахматка")
ui.stop_if_cache_empty()
current = ui.current_scope()

buildings = ui.read(scope.buildings, current.project_id, current.city_id)
if buildings.empty:
    ui.no_results("зданий")
    st.stop()
addresses = dict(
    zip(buildings["id"].astype(int), [plain(a, limit=120) for a in buildings["address"]], strict=True)
)


def _pick_building() -> None:
    # The page's picker writes the shared sidebar scope, so the choice follows the manager around.
    st.session_state[ui.SCOPE_KEYS[2]] = st.session_state["cb_building"]


building_id = current.building_id if current.building_id in addresses else next(iter(addresses))
st.session_state["cb_building"] = building_id
c0, c1, c2, c3 = st.columns([3, 2, 2, 3])
c0.selectbox(
    "Здание", list(addresses), format_func=addresses.get, key="cb_building", on_change=_pick_building
)
types = c1.multiselect(
    "Тип",
    [t.value for t in PremiseType],
    format_func=lambda v: labels.label_of(PremiseType, v),
    placeholder="Все типы",
    key="cb_types",
)
rooms = c2.multiselect(
    "Комнат", [0, 1, 2, 3, 4, 5], format_func=labels.rooms_label, placeholder="Любое", key="cb_rooms"
)
features = c3.multiselect(
    "Особенности (все выбранные)",
    [f.value for f in Feature],
    format_func=lambda v: labels.label_of(Feature, v),
    placeholder="Любые",
    key="cb_features",
)

board.building_header(ui.read(chessboard.building, building_id))

f = PremiseFilters(types=tuple(types), rooms=tuple(rooms), features=tuple(features))
cells = ui.read(chessboard.cells, building_id, f)
if cells.empty:
    st.info("В этом здании нет помещений.", icon=":material/domain_disabled:")
    st.stop()

counts = cells["status"].value_counts()
matching = int(cells["matches"].sum())
m = st.columns(4)
m[0].metric("Помещений", ui.fmt_int(len(cells)), border=True)
for col, status in zip(m[1:], ("free", "booked", "sold"), strict=True):
    col.metric(labels.PREMISE_STATUS[status], ui.fmt_int(int(counts.get(status, 0))), border=True)
if f != PremiseFilters():
    st.caption(
        f"Под фильтры подходит {ui.fmt_int(matching)} из {ui.fmt_int(len(cells))}; остальные приглушены."
    )


@st.fragment
@auth_session.gated  # a fragment run skips app.py's gate: the gate again first
def choice_board_and_card() -> None:
    # Picking a premise reruns only this part: the board is cached, the choice only outlines a cell.
    free, captions = ui.view(board.free_premises_of, building_id, f)
    choice = st.selectbox(
        "Свободное помещение",
        list(free),
        index=None,
        format_func=captions.get,
        placeholder="Выберите свободное помещение, чтобы забронировать",
        key=f"cb_choice_{building_id}",
    )

    st.html(board.legend())
    mine = selection_view.in_my_selections(cells["id"].astype(int).tolist())
    shown = choice if choice is not None else board.highlighted(cells)
    st.html(board.board_html(building_id, f, shown, mine))

    if choice is not None:
        row = free[choice]
        with st.container(border=True, key="cb_cell"):
            st.markdown(
                f"**{md(captions[choice], limit=None)}**  \n"
                f"За м²: {md(ui.fmt_rub(row.price_per_m2))} · "
                f"Особенности: {md(list_labels(Feature, row.feature) or '—', limit=None)}"
            )
            book, keep = st.columns(2)
            if book.button("Забронировать", type="primary", icon=":material/event_available:", key="cb_book"):
                st.session_state[ui.PRESELECTED_PREMISE_KEY] = int(choice)
                if (Path(__file__).resolve().parent.parent / BOOKINGS_PAGE).exists():
                    st.switch_page(BOOKINGS_PAGE)
                st.info("Помещение запомнено: форма бронирования откроет его, как только страница появится.")
            with keep:
                selection_view.add_to_selection(int(choice), key=f"cb_sel_{int(choice)}")


choice_board_and_card()
