"""Сегодня: what the person let in should act on today (expiring fixings, showings, open bookings,
changes in their selections), in their `view_leads` scope. The landing page of the app."""

from __future__ import annotations

import streamlit as st

from kontur import ui
from kontur.auth import session as auth_session
from kontur.ui import today_view

auth_session.require_app_run()  # a deep link before any app run: rerun through app.py's gate
today_view.forward_premise_link()  # `/?premise=ID`: the card on Наличие
st.title("Сегодня")
ui.stop_if_cache_empty()
today_view.today_page()
