"""Whom a person may act for (`kontur.auth.behalf`, `policy.ACTS_FOR`), read from the operational store
on both backends: company roles choose any agent, a head of agency their agency's agents, everyone
else acts for themself; a new member or a blocked user is never offered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kontur.auth import behalf
from kontur.auth.actor import Actor
from kontur.auth.policy import ACTS_FOR, Action, Scope, acts_for, role_permits
from kontur.models import UserRole
from kontur.store.db import Store
from tests.support import ops_store

A, B = 10, 20


def person(uid: int, role: str, agency: int | None, *, status: str = "active") -> dict:
    return {
        "id": uid,
        "lastName": f"Агентов{uid}",
        "firstName": "Пётр",
        "phone": "",
        "email": f"p{uid}@kontur.test",
        "status": status,
        "role": role,
        "agency_id": agency,
        "remaining_user_creation_limit": 3,
    }


PEOPLE = [
    person(1, "MANAGER", None),
    person(2, "AGENT", A),
    person(3, "AGENT", A),
    person(4, "HEAD_OF_AGENCY", A),
    person(5, "AGENT", B),
    person(6, "AGENT", A, status="blocked"),
    person(7, "NEW_MEMBER", A),
    person(8, "AFFILIATE_MANAGER", None),
]


@pytest.fixture(params=ops_store.BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with Store.open(ops_store.store_url(request, tmp_path)) as opened:
        ops_store.seed(opened, PEOPLE)
        yield opened


def actor(uid: int) -> Actor:
    return Actor.from_row(next(p for p in PEOPLE if p["id"] == uid))


def test_the_table_is_as_documented() -> None:
    assert dict(ACTS_FOR) == {
        UserRole.ADMIN: Scope.ALL,
        UserRole.MANAGER: Scope.ALL,
        UserRole.OZK_MANAGER: Scope.ALL,
        UserRole.HEAD_OF_AGENCY: Scope.AGENCY,
    }


@pytest.mark.parametrize("action", [Action.CREATE_BOOKING, Action.CREATE_VISIT, Action.CREATE_CLIENT])
def test_the_offered_are_the_policys_agents_in_name_order(store: Store, action: Action) -> None:
    """The one narrow query offers what the policy says, person by person: themself first, then every
    other active person whose role `role_permits` the action (their agency's only for a head of
    agency), by last name, first name and id; names as the audit writes them."""
    with store.read() as tx:
        for who in PEOPLE:
            me = actor(who["id"])
            reach = acts_for(me, action)
            others = [
                actor(p["id"])
                for p in sorted(PEOPLE, key=lambda p: (p["lastName"], p["firstName"], p["id"]))
                if p["id"] != me.id
                and p["status"] == "active"
                and role_permits(actor(p["id"]), action)
                and (reach is not Scope.AGENCY or p["agency_id"] == me.agency_id)
            ]
            expected = (
                [me] if reach is None or (reach is Scope.AGENCY and me.agency_id is None) else [me, *others]
            )
            offered = behalf.agent_options(tx, me, action)
            assert [p.id for p in offered] == [a.id for a in expected], who["id"]
            assert [(p.name, p.role, p.agency_id) for p in offered] == [
                (a.name, a.role, a.agency_id) for a in expected
            ]
        assert behalf.agent_options(tx, None, action) == []


def test_who_is_offered(store: Store) -> None:
    with store.read() as tx:
        manager = [a.id for a in behalf.agent_options(tx, actor(1), Action.CREATE_BOOKING)]
        head = [a.id for a in behalf.agent_options(tx, actor(4), Action.CREATE_BOOKING)]
        agent = [a.id for a in behalf.agent_options(tx, actor(2), Action.CREATE_BOOKING)]
    assert manager[0] == 1  # themself first
    assert set(manager) == {1, 2, 3, 4, 5}  # no blocked user, no new member, no affiliate manager
    assert head[0] == 4
    assert set(head) == {2, 3, 4}  # their agency's only
    assert agent == [2]
    assert not behalf.may_choose_agent(actor(2), Action.CREATE_BOOKING)
    assert behalf.may_choose_agent(actor(1), Action.CREATE_BOOKING)
    assert not behalf.may_choose_agent(actor(8), Action.CREATE_BOOKING)  # may not book at all


@pytest.mark.parametrize(
    ("who", "agent_id", "expected", "reason"),
    [
        (1, None, 1, None),
        (1, 5, 5, None),
        (4, 3, 3, None),
        (2, 2, 2, None),
        (4, 5, None, "не из вашего агентства"),
        (2, 3, None, "действует только от своего имени"),
        (1, 7, None, "не может быть агентом"),
        (1, 999, None, "не найден"),
    ],
)
def test_resolve(
    store: Store, who: int, agent_id: int | None, expected: int | None, reason: str | None
) -> None:
    with store.read() as tx:
        acting = behalf.resolve(tx, actor(who), agent_id, Action.CREATE_BOOKING)
    assert (acting.agent.id if acting.agent else None) == expected
    if reason is None:
        assert acting.refusal is None
    else:
        assert acting.refusal is not None
        assert reason in acting.refusal


def test_the_agent_is_read_afresh(store: Store) -> None:
    """A blocked agent is resolved as stored now: the form then refuses them (blocked, limit)."""
    with store.read() as tx:
        acting = behalf.resolve(tx, actor(1), 6, Action.CREATE_BOOKING)
    assert acting.agent is not None
    assert acting.agent.status == "blocked"
    assert acting.for_other
