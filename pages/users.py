"""Пользователи: the directory of agents and managers, and pushing a user to Brusnika."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kontur import labels, ui
from kontur.forms import lookups, users
from kontur.forms import page as fp
from kontur.forms.identity import Actor, booking_refusal
from kontur.models import User, UserRole, UserStatus

FORM = "user"

st.header("Пользователи")
actor = fp.actor_picker()
rt = ui.runtime()
conn = fp.connection()
agencies = {a["id"]: a["title"] for a in lookups.agencies_here(conn)}
directory = lookups.users(conn)

if rt.demo and rt.sandbox is not None and st.button("Перезагрузить справочник из песочницы", key="us_reseed"):
    count = users.seed(conn, rt.sandbox.admin().users(), lock=rt.cache.write_lock)
    fp.changed()
    st.success(f"Загружено пользователей: {count}.")
    directory = lookups.users(conn)

if not directory:
    st.info("Справочник пуст.")
    st.stop()

table = pd.DataFrame(
    [
        {
            "№": row["id"],
            "Пользователь": f"{row['lastName']} {row['firstName']}",
            "Роль": labels.label_of(UserRole, row["role"]),
            "Статус": labels.label_of(UserStatus, row["status"]),
            "Агентство": agencies.get(row["agency_id"])
            or (f"№{row['agency_id']}" if row["agency_id"] else "—"),
            "Осталось броней": row["remaining_user_creation_limit"],
            "Может бронировать": booking_refusal(Actor.from_row(row)) or "да",
        }
        for row in directory
    ]
)
st.dataframe(table, hide_index=True, use_container_width=True)

st.subheader("Передать пользователя в Брусника")
by_id = {row["id"]: row for row in directory}
chosen = fp.choose(
    "Пользователь", {uid: f"{r['lastName']} {r['firstName']}" for uid, r in by_id.items()}, "us_user"
)
if chosen is not None:
    row = by_id[chosen]
    with st.form("user_form", clear_on_submit=False):
        c1, c2, c3 = st.columns(3)
        status = c1.selectbox(
            "Статус",
            [s.value for s in UserStatus],
            index=[s.value for s in UserStatus].index(row["status"]),
            format_func=lambda v: labels.label_of(UserStatus, v),
        )
        role = c2.selectbox(
            "Роль",
            [r.value for r in UserRole],
            index=[r.value for r in UserRole].index(row["role"]),
            format_func=lambda v: labels.label_of(UserRole, v),
        )
        remaining = c3.number_input(
            "Осталось броней",
            min_value=0,
            value=int(row["remaining_user_creation_limit"] or 0),
            step=1,
            key=f"us_remaining_{chosen}",  # per user: its own starting value
        )
        pushed = st.form_submit_button("Передать в Брусника", type="primary")
    if pushed:
        full = lookups.user_record(conn, chosen)
        user = User.model_validate(
            {**full, "status": status, "role": role, "remaining_user_creation_limit": remaining}
        )
        fp.submitted(FORM, users.push(fp.context(actor), user))
fp.show_outcome(FORM)
