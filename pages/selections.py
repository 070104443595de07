"""Подборки: the reader's selections for clients — premises with live status, totals, PDF and XLSX."""

from __future__ import annotations

import streamlit as st

from kontur import ui
from kontur.auth import session as auth_session
from kontur.exports import pdf, xlsx
from kontur.ui import selection_view as sv
from kontur.ui import tables

auth_session.require_app_run()  # a deep link before any app run: rerun through app.py's gate
st.title("Подборки")
ui.stop_if_cache_empty()
actor, agent_ids, allowed = sv.reader_and_scope()
if not allowed:
    sv.refusal()
    st.stop()

left, right = st.columns([1, 3])
with left:
    sv.create_form(actor)
    mine = sv.list_selections(agent_ids)
    if not mine:
        st.info("Подборок пока нет.", icon=":material/playlist_add:")
        st.stop()
    sv.pick(mine)

with right:
    selection = sv.get_selection(st.session_state[sv.CURRENT_KEY], agent_ids)
    if selection is None:
        st.warning("Подборка не найдена или недоступна.")
        st.stop()
    rows = sv.show_selection(selection, agent_ids)
    sv.add_by_ids_form(selection, actor, agent_ids)
    sv.manage(selection, agent_ids, key="sel")
    if selection.items:
        preset = sv.pdf_mortgage_choice(selection)
        report = sv.sheet(selection, rows, actor)
        settings = ui.settings()
        a, b = st.columns(2)
        with a:
            tables.download(
                "Скачать PDF", lambda: pdf.selection_pdf_from(report, settings=settings, mortgage=preset),
                file_name=f"podborka-{selection.id}.pdf", mime="application/pdf",
                icon=":material/picture_as_pdf:", key=f"pdf_{selection.id}",
            )  # fmt: skip
        with b:
            tables.download(
                "Скачать XLSX", xlsx.selection_xlsx(report), file_name=f"podborka-{selection.id}.xlsx",
                mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                icon=":material/table:", key=f"xlsx_{selection.id}",
            )  # fmt: skip
