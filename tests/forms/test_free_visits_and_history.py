"""A showing without a slot (day and time typed, not in the past), and the action history (the store's
audit) limited to what the acting user's role may see."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable

import duckdb
import pytest

from kontur.auth import directory
from kontur.auth.actor import Actor
from kontur.auth.scopes import ReadScope
from kontur.forms import history, lookups, visits
from kontur.forms.context import FormContext
from kontur.forms.submit import Outcome
from kontur.models import Client, Visit
from kontur.sandbox.server import RunningSandbox
from kontur.store.db import Store
from tests.support.form_records import client_through_forms, landlines

from .helpers import outbound_count

# +7812 744…: landline numbers no other test and no generated client uses.
_phone = landlines(7_440_000, 3)


def _new_client(ctx: FormContext, name: str) -> Client:
    return client_through_forms(ctx, name, _phone())


def test_visit_without_a_slot_is_checked_then_made(
    make_ctx: Callable[..., FormContext],
    conn: duckdb.DuckDBPyConnection,
    store: Store,
    forms_sandbox: RunningSandbox,
) -> None:
    ctx = make_ctx()
    client = _new_client(ctx, "Лаптева Ирина")
    project_id = lookups.projects(conn)[0]["id"]
    before = outbound_count(forms_sandbox, "visits")
    noon = dt.datetime.combine(dt.date.today(), dt.time(12, 0))
    ctx.clock = lambda: noon  # "now" is today at noon, so earlier today is the past

    def attempt(day: dt.date | None, time: str) -> Outcome[Visit]:
        values = visits.VisitInput(
            project_id=project_id, client_id=client.id, time_slot_id=None, date=day, time=time
        )
        return visits.create(ctx, values)

    yesterday = attempt(noon.date() - dt.timedelta(days=1), "10:00")
    assert (yesterday.ok, yesterday.code) == (False, "invalid")
    assert yesterday.field_errors == {"date": "Дата уже прошла — выберите сегодняшнюю или более позднюю."}
    earlier_today = attempt(noon.date(), "11:59")
    assert earlier_today.field_errors == {"date": "Это время сегодня уже прошло — выберите более позднее."}
    no_day = attempt(None, "9.30")
    assert set(no_day.field_errors) == {"date", "time"}
    assert outbound_count(forms_sandbox, "visits") == before  # nothing was sent

    made = attempt(noon.date() + dt.timedelta(days=3), "9:05")
    assert made.ok, made.message
    assert made.result is not None
    assert made.result.time_slot_id is None
    assert (made.result.date, made.result.time) == (noon.date() + dt.timedelta(days=3), "09:05")
    assert "слот" not in made.message
    assert outbound_count(forms_sandbox, "visits") == before + 1
    listed = {v["id"]: v for v in lookups.visits_here(store, conn, ReadScope.everyone())}[made.result.id]
    assert (listed["time_slot_id"], listed["status"]) == (None, "open")

    again = attempt(noon.date() + dt.timedelta(days=3), "09:05")  # a double click: the same visit
    assert again.ok
    assert again.result is not None
    assert again.result.id == made.result.id
    assert outbound_count(forms_sandbox, "visits") == before + 1


def _actors(store: Store) -> dict[str, Actor]:
    """Two agents of one agency (which has an active head), an agent of another, a manager, a new
    member and a blocked user, from the sandbox's directory."""
    with store.read() as tx:
        people = directory.users(tx)
    active = [u for u in people if u["status"] == "active"]
    agents: dict[int, list[dict]] = defaultdict(list)
    for u in active:
        if u["role"] == "AGENT":
            agents[u["agency_id"]].append(u)
    heads = {u["agency_id"]: u for u in active if u["role"] == "HEAD_OF_AGENCY"}
    home = next((a for a, members in agents.items() if len(members) >= 2 and a in heads), None)
    if home is None:
        pytest.fail("no agency with two active agents and an active head in the sandbox data")
    other = next(a for a in agents if a != home)
    pick = {
        "agent": agents[home][0],
        "colleague": agents[home][1],
        "head": heads[home],
        "stranger": agents[other][0],
        "manager": next(u for u in active if u["role"] == "MANAGER"),
        "newcomer": next(u for u in active if u["role"] == "NEW_MEMBER"),
        "blocked": next(u for u in people if u["status"] == "blocked"),
    }
    return {name: Actor.from_row(row) for name, row in pick.items()}


def test_history_shows_what_the_role_may_see(make_ctx: Callable[..., FormContext], store: Store) -> None:
    who = _actors(store)
    mine = _new_client(make_ctx(actor=who["agent"]), "Агентова Анна").id
    theirs = _new_client(make_ctx(actor=who["stranger"]), "Чужова Вера").id
    managers = _new_client(make_ctx(actor=who["manager"]), "Менеджерова Ольга").id

    def seen(name: str) -> set[int]:
        _shown, rows = history.rows(store, who[name])
        return {r.action.brusnika_id for r in rows if r.action.action == "create_client"}

    ours = {mine, theirs, managers}
    assert seen("agent") & ours == {mine}
    assert seen("colleague") & ours == {mine}  # same agency
    assert seen("head") & ours == {mine}
    assert seen("stranger") & ours == {theirs}
    assert seen("manager") >= ours
    assert seen("newcomer") & ours == set()  # no reach over deals: only their own actions
    assert history.rows(store, who["blocked"])[1] == []
    assert history.rows(store, None)[1] == []
    _shown, agent_rows = history.rows(store, who["agent"])
    with store.read() as tx:
        agency = {u["id"] for u in directory.users(tx) if u["agency_id"] == who["agent"].agency_id}
    assert all(r.action.actor_id in agency or r.action.on_behalf_of in agency for r in agent_rows)
    assert history.shown_to(store, who["manager"]).caption == "Все действия."
    assert history.shown_to(store, who["agent"]).caption == "Действия пользователей вашего агентства."
    assert history.shown_to(store, who["newcomer"]).caption == "Только ваши действия."
