"""Read scopes: the policy's reach for reading, as a set of agents and a DuckDB predicate."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pytest

from kontur.auth.policy import Action
from kontur.auth.scopes import ReadScope, read_scope
from kontur.models.enums import UserRole, UserStatus

MEMBERS = {10: [1, 2, 3], 20: [4, 5]}


@dataclass(frozen=True)
class Person:
    id: int
    role: UserRole
    status: UserStatus = UserStatus.ACTIVE
    agency_id: int | None = 10


def members(agency_id: int) -> list[int]:
    return MEMBERS.get(agency_id, [])


@pytest.mark.parametrize(
    ("person", "expected"),
    [
        (Person(1, UserRole.AGENT), {1, 2, 3}),
        (Person(4, UserRole.HEAD_OF_AGENCY, agency_id=20), {4, 5}),
        (Person(9, UserRole.AGENT, agency_id=None), {9}),
        (Person(7, UserRole.AGENT, agency_id=30), {7}),  # an agency with no other members
        (Person(1, UserRole.MANAGER), None),
        (Person(1, UserRole.AFFILIATE_MANAGER), None),
        (Person(1, UserRole.NEW_MEMBER), set()),
        (Person(1, UserRole.ADMIN, status=UserStatus.BLOCKED), set()),
    ],
)
def test_view_leads_scope(person: Person, expected: set[int] | None) -> None:
    scope = read_scope(person, Action.VIEW_LEADS, members)
    assert scope.agent_ids == (None if expected is None else frozenset(expected))


def test_no_actor_sees_nothing() -> None:
    assert read_scope(None, Action.VIEW_LEADS, members).nothing


def test_predicate_filters_rows_in_duckdb() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE leads AS SELECT range AS id, range % 6 AS agent_id FROM range(60)")

    def count(scope: ReadScope) -> int:
        sql, params = scope.predicate("agent_id")
        return con.execute(f"SELECT count(*) FROM leads WHERE {sql}", params).fetchone()[0]  # noqa: S608

    assert count(ReadScope.everyone()) == 60
    assert count(ReadScope.no_one()) == 0
    assert count(read_scope(Person(1, UserRole.AGENT), Action.VIEW_LEADS, members)) == 30  # agents 1,2,3
    assert count(ReadScope(frozenset({5}))) == 10


def test_allows_matches_predicate() -> None:
    scope = ReadScope(frozenset({1, 2}))
    assert scope.allows(1)
    assert not scope.allows(3)
    assert not scope.allows(None)
    assert ReadScope.everyone().allows(None)
    assert scope.key() == (1, 2)
