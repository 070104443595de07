"""Проект: cities and projects on a map (a click scopes the dashboard), and the project card of the
sidebar's scope (or the one chosen here)."""

from __future__ import annotations

import streamlit as st

from kontur import ui
from kontur.ui import acting, project_card
from kontur.ui import map as stock_map

st.title("Проект")
ui.stop_if_cache_empty()
with st.expander("Карта городов и проектов", expanded=True):
    stock_map.stock_map(acting.feature_settings())
project_id = project_card.chosen_project()
if project_id is None:
    st.info("В выбранном городе нет проектов.", icon=":material/domain_disabled:")
else:
    project_card.project_card(project_id)
