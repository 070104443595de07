"""The dashboard's shell with the pages of issue 14 in its navigation, for the browser tests of those
pages until the lead adds them to `app.py` (same shell: settings, sign-in gate, sidebar scope).

`?sync=1` starts the runtime's background REST sync (what «Синхронизировать» does), so a test can
bring a change it made in the sandbox into the cache without depending on the sync page's layout.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from kontur import ui
from kontur.auth import session as auth_session

REPO = Path(__file__).resolve().parents[2]
PAGES = {
    "Работа": [
        ("pages/today.py", "Сегодня", ":material/today:"),
        ("pages/selections.py", "Подборки", ":material/playlist_add_check:"),
        ("pages/project.py", "Проект", ":material/domain:"),
    ],
    "Аналитика": [
        ("pages/availability.py", "Наличие", ":material/apartment:"),
        ("pages/chessboard.py", "Шахматка", ":material/grid_view:"),
    ],
}

st.set_page_config(page_title="Контур × Брусника", page_icon=":material/apartment:", layout="wide")
rt = ui.runtime()
me = auth_session.app_gate(rt)
if st.query_params.get("sync") == "1":
    if rt.sync.start():
        rt.sync.wait(timeout=120)
        rt.bump_version()
    st.query_params.pop("sync")
page = st.navigation(
    {
        section: [st.Page(str(REPO / path), title=title, icon=icon) for path, title, icon in entries]
        for section, entries in PAGES.items()
    }
)
ui.sidebar_scope()
page.run()
