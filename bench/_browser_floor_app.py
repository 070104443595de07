"""The framework floor of bench/browser.py: the dashboard's shell with nothing on its pages.

The same navigation (the same ten entries), the same sidebar scope (`kontur.ui.sidebar_scope`, its
cached reads over the scope tables), and on each page only the widgets the walk touches, with the
dashboard's labels, so `_browser_walk.walk` drives it unchanged. A step here costs what Streamlit
itself costs for that input: the WebSocket round trip, a script rerun of the shell, the widgets'
messages and the browser's render. No page query, no chart, no big table.

Started by the bench with `streamlit run bench/_browser_floor_app.py` on a cache holding only the
scope tables (cities, projects, buildings).
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from kontur import labels, ui  # noqa: E402
from kontur.models import LeadState, PremiseType  # noqa: E402
from kontur.queries import scope  # noqa: E402

ROWS = 10  # a table to click, not a thousand rows to ship


def availability() -> None:
    st.title("Наличие помещений")
    st.multiselect(
        "Тип",
        [t.value for t in PremiseType],
        format_func=lambda v: labels.label_of(PremiseType, v),
        placeholder="Все типы",
        key="av_types",
    )
    k = "-".join(str(v) for v in ui.current_scope().__dict__.values())
    st.slider("Цена, млн ₽", 1.0, 30.0, (1.0, 30.0), step=0.1, format="%.1f", key=f"av_price_{k}")
    event = st.dataframe(
        {"Планировка": [None] * ROWS, "№": [str(i + 1) for i in range(ROWS)]},
        hide_index=True,
        height=420,
        row_height=56,
        on_select="rerun",
        selection_mode="single-row",
        key="av_table",
    )
    if event.selection.rows:
        with st.container(border=True, key="av_card"):
            st.markdown(f"#### № {event.selection.rows[0] + 1}")
    views()
    pager()


@st.fragment
def views() -> None:
    """The page's view switch (a fragment, as there), and a chart when a chart view is chosen."""
    view = st.segmented_control(
        "Вид", ["Разбивка", "Карта", "Цены и площади"], default="Разбивка", required=True, key="av_view"
    )
    for n in range({"Карта": 1, "Цены и площади": 2}.get(view or "", 0)):
        st.plotly_chart({"data": [{"type": "bar", "x": [1, 2], "y": [1, 2]}]}, key=f"av_chart_{n}")


@st.fragment
def pager() -> None:
    st.pagination(20, key="av_page")


def chessboard() -> None:
    st.title("Шахматка")
    current = ui.current_scope()
    buildings = ui.read(scope.buildings, current.project_id, current.city_id)
    addresses = dict(zip(buildings["id"].astype(int), buildings["address"], strict=True))

    def keep() -> None:
        st.session_state[ui.SCOPE_KEYS[2]] = st.session_state["cb_building"]

    building = current.building_id if current.building_id in addresses else next(iter(addresses), None)
    st.session_state["cb_building"] = building
    st.selectbox("Здание", list(addresses), format_func=addresses.get, key="cb_building", on_change=keep)
    choice = st.selectbox(
        "Свободное помещение",
        list(range(1, 21)),
        index=None,
        format_func=lambda i: f"№ {i}",
        placeholder="Выберите свободное помещение, чтобы забронировать",
        key=f"cb_choice_{building}",
    )
    if choice is not None and st.button("Забронировать", type="primary", key="cb_book"):
        st.session_state[ui.PRESELECTED_PREMISE_KEY] = choice
        st.switch_page(BOOKINGS)


def leads() -> None:
    st.title("Сделки")
    st.multiselect("Агент", list(range(1, 51)), format_func=lambda i: f"Агент #{i}", key="ld_agents")
    st.multiselect(
        "Состояние",
        [s.value for s in LeadState],
        format_func=lambda v: labels.label_of(LeadState, v),
        key="ld_states",
    )


def sync_health() -> None:
    st.title("Синхронизация")
    if st.button("Синхронизировать", type="primary"):
        st.success("Синхронизация завершена.")


def bookings() -> None:
    st.header("Бронирования")
    premise = st.session_state.pop(ui.PRESELECTED_PREMISE_KEY, None)
    st.selectbox("Помещение", [premise] if premise else [], format_func=lambda i: f"№{i}")


def empty() -> None:
    st.title("—")


BOOKINGS = st.Page(bookings, title="Бронирования", url_path="bookings")


def today() -> None:
    st.title("Сегодня")


PAGES = {
    "Работа": [st.Page(today, title="Сегодня", url_path="today", default=True)],
    "Аналитика": [
        st.Page(availability, title="Наличие", url_path="availability"),
        st.Page(chessboard, title="Шахматка", url_path="chessboard"),
        st.Page(leads, title="Сделки", url_path="leads"),
    ],
    "Продажи": [
        BOOKINGS,
        *(
            st.Page(empty, title=t, url_path=u)
            for t, u in (("Показы", "visits"), ("Клиенты", "clients"), ("Агентства", "agencies"))
        ),
    ],
    "Сервис": [
        st.Page(empty, title="Пользователи", url_path="users"),
        st.Page(empty, title="История действий", url_path="history"),
        st.Page(sync_health, title="Синхронизация", url_path="sync"),
    ],
}

st.set_page_config(page_title="Контур × Брусника", page_icon=":material/apartment:", layout="wide")
ui.runtime()
page = st.navigation(PAGES)
ui.sidebar_scope()
page.run()
