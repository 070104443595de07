"""История действий: the outbound actions taken here that the acting user may see (their agency's for
agents and heads of agency, everything for managers and administrators), who did them and how they
ended, with the same rows as a CSV."""

from __future__ import annotations

import streamlit as st

from kontur.auth import session as auth_session
from kontur.forms import history
from kontur.ui import form_page as fp
from kontur.ui import tables

auth_session.require_app_run()  # a deep link before any app run: rerun through app.py's gate
st.header("История действий")
shown, rows = history.rows(fp.store(), fp.acting(), limit=500)
st.caption(shown.caption)
if not rows:
    st.info("Действий пока не было.")
    st.stop()
table = history.table(rows)
st.dataframe(table, hide_index=True, use_container_width=True)
tables.download_csv(table, "history.csv", key="hist_csv")
