"""Подборки: the reader's selections for clients — premises with live status, totals, PDF and XLSX."""

from __future__ import annotations

import re

import streamlit as st

from kontur import ui
from kontur.exports import images, pdf, xlsx
from kontur.ui import acting
from kontur.ui import selection_view as sv

st.title("Подборки")
ui.stop_if_cache_empty()
acting.picker()
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
    ids = [s.id for s in mine]
    if st.session_state.get(sv.CURRENT_KEY) not in ids:
        st.session_state[sv.CURRENT_KEY] = ids[0]
    labels = {s.id: sv.radio_label(s) for s in mine}  # radio labels are markdown: escaped
    st.radio("Ваши подборки", ids, format_func=labels.__getitem__, key=sv.CURRENT_KEY)

with right:
    selection = sv.get_selection(st.session_state[sv.CURRENT_KEY], agent_ids)
    if selection is None:
        st.warning("Подборка не найдена или недоступна.")
        st.stop()
    rows = sv.show_selection(selection, agent_ids)
    with st.form(f"add_{selection.id}", clear_on_submit=True):
        typed = st.text_input("Добавить помещения по ID (через запятую)", key=f"add_ids_{selection.id}")
        if st.form_submit_button("Добавить", icon=":material/playlist_add:"):
            for premise_id in re.findall(r"\d+", typed):
                ok, message = sv.add_premise(selection.id, int(premise_id), actor, agent_ids)
                (st.success if ok else st.error)(message)
            st.rerun()
    sv.manage(selection, agent_ids, key="sel")
    if selection.items:
        settings = acting.feature_settings()
        presets = {p.name: p for p in settings.mortgage_presets}
        plan = st.selectbox("Ипотека в PDF", [*presets, "Без расчёта"], key=f"pdf_mortgage_{selection.id}")
        report = sv.sheet(selection, rows, actor)
        api_url = ui.runtime().settings.api_url

        def build_pdf() -> bytes:
            plans = images.fetch_plans(
                ((int(r.premise_id), r.photos) for r in rows.itertuples()),
                api_url=api_url,
                media_hosts=settings.media_hosts,
            )
            return pdf.selection_pdf(report, plans=plans, mortgage=presets.get(plan))

        a, b = st.columns(2)
        a.download_button(
            "Скачать PDF", build_pdf, file_name=f"podborka-{selection.id}.pdf", mime="application/pdf",
            icon=":material/picture_as_pdf:", key=f"pdf_{selection.id}",
        )  # fmt: skip
        b.download_button(
            "Скачать XLSX", xlsx.selection_xlsx(report), file_name=f"podborka-{selection.id}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            icon=":material/table:", key=f"xlsx_{selection.id}",
        )  # fmt: skip
