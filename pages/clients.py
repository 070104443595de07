"""Клиенты: search Brusnika by phone or name, create a client, and read the fixing decision."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from kontur.auth import session as auth_session
from kontur.auth.actor import acting_refusal
from kontur.auth.policy import Action
from kontur.forms import clients
from kontur.models import Client
from kontur.ui import form_page as fp

FORM = clients.FORM
SEARCH = "client_search"

auth_session.require_app_run()  # a deep link before any app run: rerun through app.py's gate
st.header("Клиенты")
names = clients.agent_names(fp.store())


def card(client: Client) -> None:
    """Brusnika's decision in plain words, whom the client is fixed to, and the time left."""
    summary = clients.fixing_summary(client, now=dt.datetime.now().astimezone(), agent_names=names)
    with st.container(border=True):
        st.markdown(
            f"**{fp.quote(client.fullname)}** · {fp.quote(client.phone_number)} · клиент №{client.id}"
        )
        if summary["reason"]:
            st.error(f"{summary['decision']}. {summary['reason']}", icon=":material/block:")
        else:
            st.info(summary["decision"], icon=":material/verified_user:")
            st.text(summary["agent"])  # an agent's name from the directory: plain text
            if summary["countdown"]:
                st.text(summary["countdown"])
        if client.comment:
            st.caption(fp.quote(client.comment, limit=1000))


search_tab, create_tab = st.tabs(["Поиск", "Новый клиент"])
with search_tab:
    fp.search_tab(SEARCH, "cl_query", "Телефон или ФИО", lambda q: clients.search(fp.context(), q), card)

with create_tab:
    # For whom the client is registered (Brusnika fixes the client to that agent).
    acting_for = fp.agent_picker(Action.CREATE_CLIENT)
    refusal = fp.acting_refusal(acting_for, acting_refusal)
    fp.refusal_banner(refusal)
    with st.form("client_form", clear_on_submit=False):
        st.text_input("ФИО (фамилия, имя, отчество)", key="cl_fullname")
        fp.problem(FORM, "fullname")
        st.text_input("Телефон", key="cl_phone", placeholder="+7 912 345-67-89")
        fp.problem(FORM, "phone_number")
        st.text_area("Комментарий", key="cl_comment")
        created = st.form_submit_button("Завести клиента", type="primary", disabled=refusal is not None)
    if created:
        fp.submitted(
            FORM,
            clients.create(
                fp.context(),
                clients.ClientInput(
                    fullname=st.session_state.get("cl_fullname", ""),
                    phone_number=st.session_state.get("cl_phone", ""),
                    comment=st.session_state.get("cl_comment", ""),
                ),
            ),
        )
    outcome = fp.show_outcome(FORM)
    if outcome is not None and outcome.ok and outcome.result is not None:
        card(outcome.result)
