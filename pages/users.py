"""Пользователи: the directory as far as the acting person manages it, and changing a user's status,
role or booking limit within the grant rules (only what the person may set is offered; the form
function checks it again against the stored entry before anything is sent)."""

from __future__ import annotations

import streamlit as st

from kontur import labels
from kontur.auth import session as auth_session
from kontur.forms import lookups, users
from kontur.forms import page as fp
from kontur.models import UserRole, UserStatus
from kontur.ui.safe import csv_safe

FORM = users.FORM

auth_session.require_app_run()  # a deep link before any app run: rerun through app.py's gate
st.header("Пользователи")
actor = fp.acting()
conn = fp.connection()

if fp.demo_sandbox() and st.button("Перезагрузить справочник из песочницы", key="us_reseed"):
    st.success(f"Загружено пользователей: {fp.reload_demo_directory()}.")

listed = users.listed(conn, actor)
if not listed:
    st.info("Нет пользователей, которыми вы управляете.")
    st.stop()

agencies = {a["id"]: a["title"] for a in lookups.agencies_here(conn)}
table = users.table(listed, agencies)
st.dataframe(table, hide_index=True, use_container_width=True)
st.download_button(
    "Скачать CSV",
    csv_safe(table).to_csv(index=False).encode("utf-8"),
    file_name="users.csv",
    mime="text/csv",
    key="us_csv",
)

st.subheader("Передать пользователя в Брусника")
chosen = fp.choose("Пользователь", {r["id"]: f"{r['lastName']} {r['firstName']}" for r in listed}, "us_user")
stored = users.stored(conn, chosen) if chosen is not None else None
if stored is not None:
    offer = users.edit_options(actor, stored)
    if not offer.decision.allowed:
        st.caption(fp.quote(offer.decision.reason, limit=None))
    with st.form("user_form", clear_on_submit=False):
        c1, c2, c3 = st.columns(3)
        status = c1.selectbox(
            "Статус",
            offer.statuses,
            index=offer.statuses.index(stored.status.value),
            format_func=lambda v: labels.label_of(UserStatus, v),
            key=f"us_status_{stored.id}",
        )
        role = c2.selectbox(
            "Роль",
            offer.roles,
            index=offer.roles.index(stored.role.value) if stored.role.value in offer.roles else 0,
            format_func=lambda v: labels.label_of(UserRole, v),
            key=f"us_role_{stored.id}",
        )
        remaining = c3.number_input(
            "Осталось броней",
            min_value=0,
            value=stored.remaining_user_creation_limit,
            step=1,
            disabled=not offer.limit,
            key=f"us_remaining_{stored.id}",  # per user: its own starting value
        )
        pushed = st.form_submit_button(
            "Передать в Брусника", type="primary", disabled=not offer.decision.allowed
        )
    if pushed:
        change = users.UserChange(
            user_id=stored.id, status=status, role=role, remaining=int(remaining) if offer.limit else None
        )
        fp.submitted(FORM, users.push(fp.context(), change))
fp.show_outcome(FORM)
