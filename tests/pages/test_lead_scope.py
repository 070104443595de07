"""Whose leads the deals page reads: every query of `kontur.queries.leads` with the reader's scope
(`kontur.auth.scopes.read_scope`, `view_leads`) against SQL written here over the same cache.

An AGENT or HEAD_OF_AGENCY reads their agency's leads only (the agents the users directory lists in
it); a MANAGER reads every lead; a NEW_MEMBER none. The page (AppTest) shows the same numbers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kontur.auth import directory
from kontur.auth.actor import Actor
from kontur.auth.policy import Action
from kontur.auth.scopes import ReadScope, read_scope
from kontur.cache import Cache
from kontur.models import FUNNEL_STAGES
from kontur.queries import LeadFilters, leads
from kontur.sandbox.server import RunningSandbox
from kontur.store.db import Store
from tests.pages.helpers import act_as, count, metric, no_exceptions, store_url, texts, user_with


@pytest.fixture
def cur(db: Cache) -> Iterator:
    c = db.reader()
    try:
        yield c
    finally:
        c.close()


def one(cur, sql: str, params: list | None = None) -> int:
    row = cur.execute(sql, params or []).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture(scope="module")
def ops(synced_cache: Path) -> Iterator[Store]:
    """The operational store beside the synced cache: its users directory says who is in which agency."""
    with Store.open(store_url(synced_cache)) as store:
        yield store


def scope_of(ops: Store, user: dict) -> ReadScope:
    with ops.read() as tx:
        return read_scope(Actor.from_row(user), Action.VIEW_LEADS, lambda a: directory.agency_members(tx, a))


def members(sandbox: RunningSandbox, agency_id: int) -> set[int]:
    return {u["id"] for u in sandbox.admin().users() if u["agency_id"] == agency_id}


def agencies_with_leads(cur, sandbox: RunningSandbox) -> tuple[dict, dict]:
    """Two agents of different agencies, each agency with leads."""
    busy = {r[0] for r in cur.execute("SELECT DISTINCT agent_id FROM leads").fetchall()}
    agents = [
        u for u in sorted(sandbox.admin().users(), key=lambda u: u["id"])
        if u["role"] == "AGENT" and u["status"] == "active" and u["agency_id"] is not None and u["id"] in busy
    ]  # fmt: skip
    a = agents[0]
    b = next(u for u in agents if u["agency_id"] != a["agency_id"])
    return a, b


def test_an_agent_reads_only_their_agencys_leads(cur, ops: Store, sandbox: RunningSandbox) -> None:
    a, b = agencies_with_leads(cur, sandbox)
    mine = members(sandbox, a["agency_id"])
    theirs = members(sandbox, b["agency_id"])
    scope = scope_of(ops, a)
    assert scope.agent_ids == frozenset(mine)
    everything = LeadFilters()

    total = one(cur, "SELECT count(*) FROM leads WHERE list_contains(?, agent_id)", [sorted(mine)])
    assert 0 < total < one(cur, "SELECT count(*) FROM leads")
    assert leads.funnel(cur, scope, everything).total == total
    assert int(leads.weekly_starts(cur, scope, everything)["n"].sum()) == total
    stale = leads.stale_leads(cur, scope, everything)
    assert len(stale) > 0
    stale_agents = {
        r[0]
        for r in cur.execute(
            "SELECT agent_id FROM leads WHERE list_contains(?, id)", [stale["id"].tolist()]
        ).fetchall()
    }
    assert stale_agents <= mine
    board = leads.leaderboard(cur, scope, everything)
    assert set(board["agent_id"]) <= mine
    assert int(board["leads"].sum()) == total
    waiting = [stage.value for stage in FUNNEL_STAGES[:-1]]  # won is an end, not a wait
    open_stages = one(
        cur,
        "SELECT count(*) FROM leads WHERE list_contains(?, agent_id) AND list_contains(?, current_status)",
        [sorted(mine), waiting],
    )
    assert int(leads.stale_summary(cur, scope, everything)["n"].sum()) == open_stages
    agents = leads.people_options(cur, scope, "agent_id", everything, limit=1000)
    assert set(agents["id"]) <= mine
    assert not set(agents["id"]) & theirs
    managers = leads.people_options(cur, scope, "manager_id", everything, limit=1000)
    expected = {
        r[0]
        for r in cur.execute(
            "SELECT DISTINCT manager_id FROM leads "
            "WHERE manager_id IS NOT NULL AND list_contains(?, agent_id)",
            [sorted(mine)],
        ).fetchall()
    }
    assert set(managers["id"]) == expected
    lo, hi = leads.start_bounds(cur, scope)
    assert (lo, hi) == cur.execute(
        "SELECT min(start_date), max(start_date) FROM leads WHERE list_contains(?, agent_id)", [sorted(mine)]
    ).fetchone()


def test_asking_for_another_agencys_agent_finds_nothing(cur, ops: Store, sandbox: RunningSandbox) -> None:
    """A filter naming an agent outside the scope (a crafted session state) narrows, never widens."""
    a, b = agencies_with_leads(cur, sandbox)
    scope = scope_of(ops, a)
    theirs = LeadFilters(agent_ids=(b["id"],))
    assert leads.funnel(cur, scope, theirs).total == 0
    assert leads.leaderboard(cur, scope, theirs).empty
    assert leads.stale_leads(cur, scope, theirs).empty
    chosen = leads.people_options(cur, scope, "agent_id", LeadFilters(), chosen=(b["id"],), limit=1000)
    assert b["id"] not in set(chosen["id"])


def test_a_manager_reads_every_lead_and_a_new_member_none(cur, ops: Store, sandbox: RunningSandbox) -> None:
    manager = scope_of(ops, user_with(sandbox, "MANAGER"))
    assert manager.everything
    total = one(cur, "SELECT count(*) FROM leads")
    assert leads.funnel(cur, manager, LeadFilters()).total == total
    newcomer = scope_of(ops, user_with(sandbox, "NEW_MEMBER"))
    assert newcomer.nothing
    assert leads.funnel(cur, newcomer, LeadFilters()).total == 0
    assert leads.start_bounds(cur, newcomer) is None
    assert leads.people_options(cur, newcomer, "agent_id", LeadFilters()).empty


def test_scoped_reads_never_use_the_global_summaries(cur, ops: Store, sandbox: RunningSandbox) -> None:
    """The summary tables hold every agency's leads: a scoped reader's numbers come from `leads`, even
    for the unfiltered view the summaries would otherwise answer."""
    a, _ = agencies_with_leads(cur, sandbox)
    scope = scope_of(ops, a)
    everyone = ReadScope.everyone()
    assert leads.funnel(cur, scope, LeadFilters()).total < leads.funnel(cur, everyone, LeadFilters()).total


def test_the_deals_page_of_an_agent(app: AppTest, db: Cache, sandbox: RunningSandbox) -> None:
    """AppTest: the page's own numbers and rows for an AGENT are their agency's."""
    cur = db.reader()
    try:
        a, _ = agencies_with_leads(cur, sandbox)
    finally:
        cur.close()
    mine = sorted(members(sandbox, a["agency_id"]))
    names = {f"{u['lastName']} {u['firstName']}": u["agency_id"] for u in sandbox.admin().users()}
    act_as(app, a["id"])
    app.switch_page("pages/leads.py").run()
    no_exceptions(app)
    assert "Показаны сделки агентов вашего агентства" in texts(app)
    assert metric(app, "Сделок") == count(
        db, "SELECT count(*) FROM leads WHERE list_contains(?, agent_id)", [mine]
    )
    stale = next(d.value for d in app.dataframe if "Дней на этапе" in d.value.columns)
    app.button_group(key="ld_section").set_value("board").run()
    board = next(d.value for d in app.dataframe if "Выиграно" in d.value.columns)
    assert len(board) > 0
    assert {names[n] for n in board["Агент"]} == {a["agency_id"]}
    ids = [int(s.lstrip("№")) for s in stale["Сделка"]]
    assert ids
    assert (
        count(
            db,
            "SELECT count(*) FROM leads WHERE list_contains(?, id) AND NOT list_contains(?, agent_id)",
            [ids, mine],
        )
        == 0
    )
    options = app.multiselect(key="ld_agents").options
    assert options
    assert {names[o.rsplit(" (", 1)[0]] for o in options} == {a["agency_id"]}

    # the same session as a manager: every lead
    act_as(app, user_with(sandbox, "MANAGER")["id"])
    app.run()
    no_exceptions(app)
    assert metric(app, "Сделок") == count(db, "SELECT count(*) FROM leads")


def test_the_deals_page_for_a_role_without_view_leads(app: AppTest, sandbox: RunningSandbox) -> None:
    act_as(app, user_with(sandbox, "NEW_MEMBER")["id"])
    app.switch_page("pages/leads.py").run()
    no_exceptions(app)
    assert "Нет доступа: сделки вашей роли не видны." in texts(app)
    assert not app.metric
    assert not app.dataframe
