"""Проект: cities and projects on a map (a click scopes the dashboard), and the project card of the
sidebar's scope (or the one chosen here)."""

from __future__ import annotations

import streamlit as st

from kontur import ui
from kontur.auth import session as auth_session
from kontur.ui import map as stock_map
from kontur.ui import project_card

auth_session.require_app_run()  # a deep link before any app run: rerun through app.py's gate
st.title("Проект")
ui.stop_if_cache_empty()
with st.expander("Карта городов и проектов", expanded=True, icon=":material/map:"):
    stock_map.stock_map(ui.settings())
project_id = project_card.chosen_project()
if project_id is None:
    st.info("В выбранном городе нет проектов.", icon=":material/domain_disabled:")
else:
    project_card.project_card(project_id)
