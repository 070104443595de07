"""Kontur × Brusnika dashboard: the entry point. `streamlit run app.py`.

Draws what every page shares (page config, the sign-in gate, navigation, the sidebar scope, the demo
marker, the sync freshness line) and runs the chosen page from `pages/`. The gate comes first: against a
configured API without `[auth]` nothing else runs at all (`kontur.auth.session.access_mode`).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from kontur import ui
from kontur.auth import session as auth_session
from kontur.auth.actor import Actor
from kontur.config import SettingsError
from kontur.ui import form_page as forms_page
from kontur.ui import freshness

HERE = Path(__file__).resolve().parent

# The one list of pages, by navigation section. Add a page here (a file in pages/) and it appears in
# the navigation; pages whose file does not exist yet are left out rather than failing the app.
# The first page listed is the landing page: «Сегодня», what the person let in should act on today.
PAGES: dict[str, list[tuple[str, str, str]]] = {
    "Работа": [
        ("pages/today.py", "Сегодня", ":material/today:"),
        ("pages/selections.py", "Подборки", ":material/playlist_add_check:"),
    ],
    "Аналитика": [
        ("pages/availability.py", "Наличие", ":material/apartment:"),
        ("pages/chessboard.py", "Шахматка", ":material/grid_view:"),
        ("pages/project.py", "Проект", ":material/domain:"),
        ("pages/leads.py", "Сделки", ":material/filter_alt:"),
    ],
    "Продажи": [
        ("pages/bookings.py", "Бронирования", ":material/event_available:"),
        ("pages/visits.py", "Показы", ":material/calendar_month:"),
        ("pages/clients.py", "Клиенты", ":material/person:"),
        ("pages/agencies.py", "Агентства", ":material/business:"),
    ],
    "Сервис": [
        ("pages/users.py", "Пользователи", ":material/group:"),
        ("pages/history.py", "История действий", ":material/history:"),
        ("pages/sync_health.py", "Синхронизация", ":material/sync:"),
    ],
}


def navigation(signed_in: Actor | None) -> st.navigation:
    # Signed in: only the pages the role may open (kontur.auth.session.PAGE_ACTIONS).
    listed = PAGES if signed_in is None else auth_session.allowed_pages(PAGES, signed_in)
    sections = {
        section: [
            st.Page(path, title=title, icon=icon) for path, title, icon in pages if (HERE / path).exists()
        ]
        for section, pages in listed.items()
    }
    # expanded: with «Сегодня», «Подборки» and «Проект» the list passed Streamlit's default length,
    # which hid «Синхронизация» and the service pages behind «View 3 more».
    return st.navigation({name: pages for name, pages in sections.items() if pages}, expanded=True)


def main() -> None:
    st.set_page_config(page_title="Контур × Брусника", page_icon=":material/apartment:", layout="wide")
    try:
        mode = auth_session.access_mode(ui.settings())
    except SettingsError as exc:
        auth_session.error_screen(f"Настройки не приняты: {exc}")
    if mode is auth_session.Access.UNCONFIGURED:
        auth_session.configuration_screen()  # a real API without [auth]: this screen, nothing else
    try:
        rt = ui.runtime()
    except Exception as exc:  # e.g. the cache file is held by another process
        auth_session.error_screen(f"Не удалось подготовить данные: {type(exc).__name__}: {exc}")
    forms_page.ensure_directory(rt)  # demo: the sandbox's users in the store, someone to act as
    # Sign-in: stops here unless an active, known person signed in. Picker modes: who acts.
    me = auth_session.app_gate(rt, mode)
    page = navigation(me if mode is auth_session.Access.SIGN_IN else None)
    with st.sidebar:
        if rt.demo:
            st.info(
                "**Демо-режим**: данные встроенной песочницы, не реальные продажи.", icon=":material/science:"
            )
    ui.sidebar_scope()
    with st.sidebar:  # below the scope, so the selectors stay where people expect them
        freshness.sidebar(rt)  # last sync / Kafka batch, a warning when stale or failing, first-fill progress
    page.run()


main()
