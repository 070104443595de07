"""A tiny Streamlit app behind the real sign-in gate, to prove the plumbing independently of the
dashboard's pages: directory from the environment (`KONTUR_PROBE_USERS`, wire JSON), nothing else."""

from __future__ import annotations

import json
import os

import streamlit as st

from kontur.auth.identity import directory_from_records, normalise_email
from kontur.auth.policy import Action, Resource, can, can_cancel_booking
from kontur.auth.signin import gate, sidebar_account


def find_users(email: str) -> list:
    users, _ = directory_from_records(json.loads(os.environ.get("KONTUR_PROBE_USERS", "[]")))
    return [u for u in users if normalise_email(u.email) == normalise_email(email)]


me = gate(find_users)
if me is None:
    st.info("Демо-режим: вход не настроен.")
    st.stop()
sidebar_account(me)
st.header(f"Здравствуйте, {me.user.display_name}")
st.write(f"identity: {me.identity}")
st.write(f"create_booking: {can(me.user, Action.CREATE_BOOKING).allowed}")
other = can_cancel_booking(me.user, Resource(agent_id=999, agency_id=987654))
st.write(f"cancel other agency: {other.allowed} — {other.reason}")
