"""Сегодня: what the signed-in person should act on today (expiring fixings, showings, open bookings,
changes in their selections)."""

from __future__ import annotations

import streamlit as st

from kontur import ui
from kontur.ui import acting, today_view

st.title("Сегодня")
ui.stop_if_cache_empty()
acting.picker()
today_view.today_page()
