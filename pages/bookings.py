"""Бронирования: book a premise for a client, and the list of bookings made here with cancelling."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from kontur import labels, ui
from kontur.auth import session as auth_session
from kontur.auth.actor import booking_refusal
from kontur.auth.policy import Action
from kontur.forms import bookings, clients, lookups
from kontur.models import PurchaseOption
from kontur.ui import form_page as fp

FORM = bookings.FORM

auth_session.require_app_run()  # a deep link before any app run: rerun through app.py's gate
st.header("Бронирования")
conn = fp.connection()
store = fp.store()
# Whose bookings this person sees (the policy's scope of booking).
visible = fp.scope(Action.CREATE_BOOKING)
# For whom they book (a manager chooses an agent: that agent's limit and clients).
acting_for = fp.agent_picker(Action.CREATE_BOOKING)
if acting_for.agent is not None:
    st.caption(f"Осталось броней у агента: {acting_for.agent.remaining}")

# Arriving from the chessboard: the premise and everything above it come preselected.
preselected = st.session_state.pop(ui.PRESELECTED_PREMISE_KEY, None)
if preselected is not None:
    row = lookups.premise(conn, int(preselected))
    if row is None:
        st.warning(f"Помещение №{preselected} не найдено в кэше — обновите данные.")
    else:
        st.session_state.update(
            bk_city=row["city_id"],
            bk_project=row["project_id"],
            bk_building=row["building_id"],
            bk_premise=row["id"],
        )
        st.session_state["bk_pinned_premise"] = row["id"]

refusal = fp.acting_refusal(acting_for, booking_refusal)
fp.refusal_banner(refusal)

left, right = st.columns(2)
with left:
    st.subheader("Помещение")
    city = fp.choose("Город", {c["id"]: c["name"] for c in lookups.cities(conn)}, "bk_city")
    project = fp.choose(
        "Проект", {p["id"]: p["name"] for p in lookups.projects(conn, city)} if city else {}, "bk_project"
    )
    building = fp.choose(
        "Здание",
        {b["id"]: b["address"] for b in lookups.buildings(conn, project)} if project else {},
        "bk_building",
    )
    premise_rows = {p["id"]: p for p in lookups.free_premises(conn, building)} if building else {}
    # Keep the chosen (or chessboard-pinned) premise selectable even once booked: a repeated submit
    # must send the same request again (same idempotency key), and a stale choice must reach
    # Brusnika to get its answer in words.
    # Labels stay the same whatever the premise's state: Streamlit matches a kept choice by its label.
    for pinned in (st.session_state.get("bk_premise"), st.session_state.get("bk_pinned_premise")):
        if isinstance(pinned, int) and pinned not in premise_rows:
            extra = lookups.premise(conn, pinned)
            if extra is not None and extra["building_id"] == building:
                premise_rows[pinned] = extra
    premise_labels = {pid: lookups.premise_label(p) for pid, p in premise_rows.items()}
    premise_id = fp.choose("Помещение", premise_labels, "bk_premise", placeholder="Свободное помещение…")
    chosen_row = premise_rows.get(premise_id) if premise_id is not None else None
    if chosen_row is not None and (chosen_row.get("is_booked") or chosen_row.get("is_sold")):
        st.caption("По данным кэша помещение занято; Брусника ответит, можно ли его забронировать.")
    fp.problem(FORM, "premise_id")
    if building and not premise_rows:
        st.info("В этом здании нет свободных помещений.")

with right:
    st.subheader("Клиент")
    query = st.text_input("Поиск клиента: телефон или ФИО", key="bk_client_query")
    if st.button("Найти в Брусника", key="bk_client_search"):
        found = clients.search(fp.context(), query)
        if not found.ok:
            st.error(fp.quote(found.message, limit=None))
    pickable = fp.clients_of(acting_for)  # the agent's own clients: their fixing is what holds
    client_rows = {c["id"]: c for c in lookups.local_clients(store, pickable, query)}
    chosen_client = st.session_state.get("bk_client")
    if chosen_client is not None and chosen_client not in client_rows:
        client_rows.update(
            {c["id"]: c for c in lookups.local_clients(store, pickable) if c["id"] == chosen_client}
        )
    fp.choose(
        "Клиент",
        {cid: f"{c['fullname']} · {c['phone_number']}" for cid, c in client_rows.items()},
        "bk_client",
        placeholder="Клиент из поиска…",
    )
    fp.problem(FORM, "client_id")
    if not client_rows:
        st.caption(
            "Нет клиентов этого агента: найдите клиента в Брусника или заведите на странице «Клиенты»."
        )

options = bookings.purchase_options(premise_rows.get(premise_id) if premise_id is not None else None)
if st.session_state.get("bk_purchase_option") not in options:
    st.session_state.pop("bk_purchase_option", None)  # the premise changed; its options did too

with st.form("booking_form", clear_on_submit=False):
    c1, c2, c3 = st.columns(3)
    with c1:
        day = st.date_input(
            "Дата брони", value=dt.date.today() + dt.timedelta(days=1), key="bk_date", format="DD.MM.YYYY"
        )
        fp.problem(FORM, "date")
    with c2:
        typed_time = st.text_input("Время (ЧЧ:ММ)", value="12:00", key="bk_time")
        fp.problem(FORM, "time")
    with c3:
        option = st.selectbox(
            "Способ покупки",
            options,
            key="bk_purchase_option",
            format_func=lambda v: labels.label_of(PurchaseOption, v),
        )
        fp.problem(FORM, "purchase_option")
    submitted = st.form_submit_button("Забронировать", type="primary", disabled=refusal is not None)

if submitted:
    outcome = bookings.create(
        fp.context(),
        bookings.BookingInput(
            premise_id=premise_id,
            client_id=st.session_state.get("bk_client"),
            date=day,
            time=typed_time,
            purchase_option=option,
        ),
    )
    fp.submitted(FORM, outcome)

fp.show_outcome(FORM)


def describe(booking: dict) -> str:
    """What a manager recognises a booking by: the project, the building, the premise's number.
    Markdown, every value from Brusnika or an agent escaped (`md`)."""
    return " · ".join(
        [
            f"**№{booking['id']}**",
            fp.quote(booking["project_name"] or "проект не в кэше"),
            "дом: " + fp.quote(booking["address"]),
            "помещение №" + fp.quote(booking["premise_number"] or f"id {booking['premise_id']} (нет в кэше)"),
            fp.quote(booking["client_name"] or f"клиент {booking['client_id']}"),
            "агент: " + fp.quote(booking["agent_name"] or f"№{booking['agent_id']}"),
            f"{booking['date']:%d.%m.%Y} " + fp.quote(booking["time"]),
            labels.label_of(PurchaseOption, booking["purchase_option"]),
        ]
    )


st.subheader("Брони, сделанные здесь")
made_here = lookups.bookings_here(store, conn, visible)
if not made_here:
    st.caption("Пока нет броней.")
fp.cancellable_list(
    made_here,
    describe,
    fp.CancelDialog(
        form=FORM,
        prefix="bk",
        title="Отмена брони",
        confirm_label="Да, отменить бронь",
        question=lambda b: (
            f"Отменить бронь №{b['id']}: {fp.quote(b['project_name'] or '')}, дом {fp.quote(b['address'])}, "
            f"помещение №{fp.quote(b['premise_number'] or b['premise_id'])}, "
            f"клиент {fp.quote(b['client_name'] or b['client_id'])}? Помещение снова станет свободным."
        ),
        decision=lambda b: auth_session.booking_cancel_decision(fp.acting(), b),
        cancel=lambda booking_id: bookings.cancel(fp.context(), booking_id),
    ),
)
