"""Показы: a showing in a free slot of the project's calendar (visit and slot in one step), a slot
booked alone, and the visits made here with cancelling (the slot is released)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from kontur import labels
from kontur.auth import session as auth_session
from kontur.forms import lookups, visits
from kontur.forms import page as fp
from kontur.forms.identity import acting_refusal
from kontur.models import RequestStatus

FORM = visits.FORM
CONFIRM_KEY = "vs_confirm_cancel"
WEEKDAYS = ("Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс")
MODES = {"visit": "Назначить показ в слот", "slot": "Только забронировать слот"}

st.header("Показы")
actor = fp.actor_picker()
conn = fp.connection()
refusal = acting_refusal(actor)
if refusal:
    st.warning(refusal, icon=":material/block:")

projects = {p["id"]: p["name"] for p in lookups.projects(conn)}
project_id = fp.choose("Проект", projects, "vs_project")
fp.problem(FORM, "project_id")

today = dt.date.today()
slots = lookups.project_slots(conn, project_id, since=today) if project_id else []
free = {s["id"]: s for s in slots if not s["is_booked"]}
chosen_slot = st.session_state.get("vs_slot")
if chosen_slot is not None and chosen_slot not in free:
    # Keep the chosen slot selectable after it got booked, so a repeated submit is the same request.
    free.update({s["id"]: s for s in slots if s["id"] == chosen_slot})

if project_id:
    st.subheader("Календарь слотов на две недели")
    if slots:
        grid = pd.DataFrame(
            {
                "day": [f"{WEEKDAYS[s['date'].weekday()]} {s['date']:%d.%m}" for s in slots],
                "time": [s["time"] for s in slots],
                "state": ["занято" if s["is_booked"] else "свободно" for s in slots],
            }
        )
        order = list(dict.fromkeys(grid["day"]))
        calendar = grid.pivot_table(index="time", columns="day", values="state", aggfunc="first")
        st.dataframe(calendar.reindex(columns=order).fillna(""), use_container_width=True)
    else:
        st.info("У проекта нет слотов показов на ближайшие две недели.")


def slot_label(slot: dict) -> str:
    # The same label whatever the slot's state: Streamlit matches a kept choice by its label.
    day = f"{WEEKDAYS[slot['date'].weekday()]} {slot['date']:%d.%m.%Y}"
    return f"{day} {slot['time']} ({slot['duration_minutes']} мин)"


query = st.text_input("Поиск клиента: телефон или ФИО", key="vs_client_query")
client_rows = {c["id"]: c for c in lookups.local_clients(conn, query)}
chosen_client = st.session_state.get("vs_client")
if chosen_client is not None and chosen_client not in client_rows:
    client_rows.update({c["id"]: c for c in lookups.local_clients(conn) if c["id"] == chosen_client})

with st.form("visit_form", clear_on_submit=False):
    mode = st.radio("Что сделать", list(MODES), format_func=MODES.get, key="vs_mode", horizontal=True)
    client_labels = {cid: f"{c['fullname']} · {c['phone_number']}" for cid, c in client_rows.items()}
    client_id = fp.choose("Клиент", client_labels, "vs_client")
    fp.problem(FORM, "client_id")
    slot_id = fp.choose("Свободный слот", {sid: slot_label(s) for sid, s in free.items()}, "vs_slot")
    fp.problem(FORM, "time_slot_id", "date", "time")
    submitted = st.form_submit_button("Записать", type="primary", disabled=refusal is not None)

if submitted:
    ctx = fp.context(actor)
    if mode == "slot":
        outcome = visits.book_slot(ctx, slot_id, client_id)
        if outcome.ok:
            ctx.keys.forget(visits.SLOT_FORM)
    else:
        outcome = visits.create(
            ctx, visits.VisitInput(project_id=project_id, client_id=client_id, time_slot_id=slot_id)
        )
    fp.keep_outcome(FORM, outcome)
    if outcome.ok:
        fp.changed()
    st.rerun()

fp.show_outcome(FORM)


@st.dialog("Отмена показа", on_dismiss=lambda: st.session_state.pop(CONFIRM_KEY, None))
def confirm_cancel(visit: dict) -> None:
    st.write(f"Отменить показ №{visit['id']} ({visit['date']:%d.%m.%Y} {visit['time']})? Слот освободится.")
    yes, no = st.columns(2)
    if yes.button("Да, отменить показ", type="primary", key="vs_confirm_yes"):
        outcome = visits.cancel(fp.context(actor), int(visit["id"]))
        fp.keep_outcome(FORM, outcome)
        if outcome.ok:
            fp.changed()
        st.session_state.pop(CONFIRM_KEY, None)
        st.rerun()
    if no.button("Нет", key="vs_confirm_no"):
        st.session_state.pop(CONFIRM_KEY, None)
        st.rerun()


st.subheader("Показы, назначенные здесь")
made_here = lookups.visits_here(conn)
if not made_here:
    st.caption("Пока нет показов.")
for visit in made_here:
    cols = st.columns([5, 2, 2])
    slot_text = f" · слот №{visit['time_slot_id']}" if visit["time_slot_id"] else ""
    cols[0].markdown(
        f"**№{visit['id']}** · {visit['project_name'] or visit['project_id']} · "
        f"{visit['client_name'] or 'клиент ' + str(visit['client_id'])} · "
        f"{visit['date']:%d.%m.%Y} {visit['time']}{slot_text}"
    )
    cols[1].markdown(f"Статус: **{labels.label_of(RequestStatus, visit['status'])}**")
    is_open = visit["status"] == RequestStatus.OPEN
    may_cancel = auth_session.visit_cancel_decision(conn, actor, visit)  # as the form checks it
    if is_open and not may_cancel.allowed:
        cols[2].caption(may_cancel.reason)
    elif is_open and cols[2].button("Отменить", key=f"vs_cancel_{visit['id']}"):
        st.session_state[CONFIRM_KEY] = visit["id"]

pending = st.session_state.get(CONFIRM_KEY)
if pending is not None:
    match = [v for v in made_here if v["id"] == pending]
    if match:
        confirm_cancel(match[0])
