"""Показы: a showing in a free slot of the project's calendar (visit and slot in one step), a slot
booked alone, a showing without a slot on a typed day and time, and the visits made here with
cancelling (the slot is released)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from kontur.auth import session as auth_session
from kontur.auth.actor import acting_refusal
from kontur.auth.policy import Action
from kontur.forms import lookups, visits
from kontur.ui import form_page as fp

FORM = visits.FORM
FREE_FORM = "visit_free"  # its own outcome slot: its fields' messages are its own
WEEKDAYS = ("Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс")
MODES = {"visit": "Назначить показ в слот", "slot": "Только забронировать слот"}

auth_session.require_app_run()  # a deep link before any app run: rerun through app.py's gate
st.header("Показы")
conn = fp.connection()
store = fp.store()
# Whose visits this person sees (the policy's scope of showings), and for whom they arrange them.
visible = fp.scope(Action.CREATE_VISIT)
acting_for = fp.agent_picker(Action.CREATE_VISIT)
refusal = fp.acting_refusal(acting_for, acting_refusal)
fp.refusal_banner(refusal)

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
pickable = fp.clients_of(acting_for)  # the agent's own clients: their fixing is what holds
client_rows = {c["id"]: c for c in lookups.local_clients(store, pickable, query)}
# Keep the chosen clients selectable whatever the search box says now (same request on a resubmit).
for chosen_client in (st.session_state.get("vs_client"), st.session_state.get("vs_free_client")):
    if chosen_client is None or chosen_client in client_rows:
        continue
    known = lookups.local_clients(store, pickable)
    client_rows.update({c["id"]: c for c in known if c["id"] == chosen_client})
client_labels = {cid: f"{c['fullname']} · {c['phone_number']}" for cid, c in client_rows.items()}

slot_tab, free_tab = st.tabs(["В слот календаря", "Без слота: дата и время"])
with slot_tab:
    with st.form("visit_form", clear_on_submit=False):
        mode = st.radio("Что сделать", list(MODES), format_func=MODES.get, key="vs_mode", horizontal=True)
        client_id = fp.choose("Клиент", client_labels, "vs_client")
        fp.problem(FORM, "client_id")
        slot_id = fp.choose("Свободный слот", {sid: slot_label(s) for sid, s in free.items()}, "vs_slot")
        fp.problem(FORM, "time_slot_id", "date", "time")
        submitted = st.form_submit_button("Записать", type="primary", disabled=refusal is not None)
    if submitted:
        if mode == "slot":
            outcome = visits.book_slot(fp.context(), slot_id, client_id)
        else:
            outcome = visits.create(
                fp.context(),
                visits.VisitInput(project_id=project_id, client_id=client_id, time_slot_id=slot_id),
            )
        fp.submitted(FORM, outcome)

with free_tab:
    # A showing the project arranges outside its calendar: the day and time are typed, and checked
    # not to be in the past before anything is sent.
    with st.form("visit_free_form", clear_on_submit=False):
        free_client = fp.choose("Клиент", client_labels, "vs_free_client")
        fp.problem(FREE_FORM, "client_id", "project_id")
        c1, c2 = st.columns(2)
        with c1:
            free_day = st.date_input(
                "Дата показа", value=today + dt.timedelta(days=1), key="vs_free_date", format="DD.MM.YYYY"
            )
            fp.problem(FREE_FORM, "date")
        with c2:
            free_time = st.text_input("Время (ЧЧ:ММ)", value="12:00", key="vs_free_time")
            fp.problem(FREE_FORM, "time")
        free_submitted = st.form_submit_button(
            "Назначить показ", type="primary", disabled=refusal is not None
        )
    if free_submitted:
        outcome = visits.create(
            fp.context(),
            visits.VisitInput(
                project_id=project_id, client_id=free_client, time_slot_id=None, date=free_day, time=free_time
            ),
        )
        fp.submitted(FREE_FORM, outcome)
    fp.show_outcome(FREE_FORM)

fp.show_outcome(FORM)


def describe(visit: dict) -> str:
    """Markdown, every value from Brusnika or an agent escaped (`md`)."""
    return " · ".join(
        [
            f"**№{visit['id']}**",
            fp.quote(visit["project_name"] or visit["project_id"]),
            fp.quote(visit["client_name"] or f"клиент {visit['client_id']}"),
            "агент: " + fp.quote(visit["agent_name"] or f"№{visit['agent_id']}"),
            f"{visit['date']:%d.%m.%Y} " + fp.quote(visit["time"]),
            f"слот №{visit['time_slot_id']}" if visit["time_slot_id"] else "без слота",
        ]
    )


st.subheader("Показы, назначенные здесь")
made_here = lookups.visits_here(store, conn, visible)
if not made_here:
    st.caption("Пока нет показов.")
fp.cancellable_list(
    made_here,
    describe,
    fp.CancelDialog(
        form=FORM,
        prefix="vs",
        title="Отмена показа",
        confirm_label="Да, отменить показ",
        question=lambda v: (
            f"Отменить показ №{v['id']} ({v['date']:%d.%m.%Y} {fp.quote(v['time'])})?"
            + (" Слот освободится." if v["time_slot_id"] else "")
        ),
        decision=lambda v: auth_session.visit_cancel_decision(fp.acting(), v),
        cancel=lambda visit_id: visits.cancel(fp.context(), visit_id),
    ),
)
