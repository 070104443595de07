"""Агентства: search by INN or title; register an agency (INN checked here before sending)."""

from __future__ import annotations

import streamlit as st

from kontur.auth import session as auth_session
from kontur.auth.actor import acting_refusal
from kontur.forms import agencies, lookups
from kontur.models import Agency
from kontur.ui import form_page as fp

FORM = agencies.FORM
SEARCH = "agency_search"

auth_session.require_app_run()  # a deep link before any app run: rerun through app.py's gate
st.header("Агентства")
actor = fp.acting()
cities = {c["id"]: c["name"] for c in lookups.cities(fp.connection())}


def card(agency: Agency) -> None:
    with st.container(border=True):
        st.markdown(f"**{fp.quote(agency.title)}** · {fp.quote(agency.legal_name)} · №{agency.id}")
        st.markdown(f"ИНН {fp.quote(agency.inn)} · {fp.quote(cities.get(agency.city_id, agency.city_id))}")
        owner = f"владелец {fp.quote(agency.owner_full_name)}, {fp.quote(agency.owner_phone)}"
        st.caption(f"{fp.quote(agency.phone)} · {fp.quote(agency.email)} · {owner}")


search_tab, create_tab = st.tabs(["Поиск", "Новое агентство"])
with search_tab:
    fp.search_tab(SEARCH, "ag_query", "ИНН или название", lambda q: agencies.search(fp.context(), q), card)

with create_tab:
    refusal = acting_refusal(actor)
    fp.refusal_banner(refusal)
    with st.form("agency_form", clear_on_submit=False):
        left, right = st.columns(2)
        with left:
            st.text_input("Название", key="ag_title")
            fp.problem(FORM, "title")
            fp.choose("Город", cities, "ag_city", container=st)
            fp.problem(FORM, "city_id")
            st.text_input("Юридическое название", key="ag_legal_name")
            fp.problem(FORM, "legalName")
            st.text_input("ИНН (10 или 12 цифр)", key="ag_inn")
            fp.problem(FORM, "inn")
        with right:
            st.text_input("Телефон", key="ag_phone")
            fp.problem(FORM, "phone")
            st.text_input("Почта", key="ag_email")
            fp.problem(FORM, "email")
            st.text_input("ФИО владельца", key="ag_owner")
            fp.problem(FORM, "ownerFullName")
            st.text_input("Телефон владельца", key="ag_owner_phone")
            fp.problem(FORM, "ownerPhone")
        created = st.form_submit_button("Зарегистрировать", type="primary", disabled=refusal is not None)
    if created:
        state = st.session_state
        outcome = agencies.create(
            fp.context(),
            agencies.AgencyInput(
                title=state.get("ag_title", ""),
                city_id=state.get("ag_city"),
                legal_name=state.get("ag_legal_name", ""),
                inn=state.get("ag_inn", ""),
                phone=state.get("ag_phone", ""),
                email=state.get("ag_email", ""),
                owner_full_name=state.get("ag_owner", ""),
                owner_phone=state.get("ag_owner_phone", ""),
            ),
        )
        fp.submitted(FORM, outcome)
    outcome = fp.show_outcome(FORM)
    if outcome is not None:
        shown = outcome.result if outcome.ok else outcome.details.get("existing")
        if shown is not None:
            st.caption("Уже зарегистрированное агентство:" if not outcome.ok else "Зарегистрировано:")
            card(shown)
