"""The roles policy: every role × action, the agency/own scopes, blocked users, temporary roles.

The expected matrix below is written out by hand (not derived from `POLICY`), so a change to the
table that is not also a deliberate change here fails.
"""

from __future__ import annotations

import pytest

from kontur.auth.actor import Actor
from kontur.auth.policy import (
    POLICY,
    Action,
    NotAllowed,
    Resource,
    can,
    can_cancel_booking,
    may_cancel_bookings,
    require,
    role_summary,
)
from kontur.models import User, UserRole, UserStatus

R = UserRole
# Columns in this order:
ACTIONS = [
    "browse",
    "view_leads",
    "create_booking",
    "cancel_own_booking",
    "cancel_any_booking",
    "create_visit",
    "cancel_visit",
    "book_time_slot",
    "create_client",
    "create_agency",
    "manage_users",
    "sync_now",
]
# a = any record, g = own agency's records only, o = own records only, . = never
EXPECTED = {
    R.ADMIN: "a a a a a a a a a a a a",
    R.MANAGER: "a a a a a a a a a a . a",
    R.OZK_MANAGER: "a a a a a a a a a a . a",
    R.AFFILIATE_MANAGER: "a a . . . . . . . a . .",
    R.HEAD_OF_AGENCY: "a g g o g g g g g a g .",
    R.AGENT: "a g g o . g g g g a . .",
    R.NEW_MEMBER: "a . . . . . . . . . . .",
}

MY_AGENCY = 10
OTHER_AGENCY = 20


def Person(
    *,
    id: int,
    role: str,
    status: str = "active",
    agency_id: int | None = MY_AGENCY,
    temporary_role: str | None = None,
) -> Actor:
    return Actor(
        id=id, name=f"#{id}", role=role, status=status, agency_id=agency_id, temporary_role=temporary_role
    )


def cells() -> list[tuple[UserRole, str, str]]:
    return [
        (role, action, mark)
        for role, row in EXPECTED.items()
        for action, mark in zip(ACTIONS, row.split(), strict=True)
    ]


def test_matrix_covers_every_role_and_action() -> None:
    assert set(EXPECTED) == set(UserRole)
    assert set(ACTIONS) == {a.value for a in Action}
    assert set(POLICY) == set(UserRole)


@pytest.mark.parametrize(("role", "action", "mark"), cells(), ids=lambda v: str(v))
def test_role_action(role: UserRole, action: str, mark: str) -> None:
    me = Person(id=1, role=role)
    mine = Resource(agent_id=1, agency_id=MY_AGENCY)
    colleague = Resource(agent_id=2, agency_id=MY_AGENCY)
    stranger = Resource(agent_id=3, agency_id=OTHER_AGENCY)

    general = can(me, action)
    on_mine = can(me, action, resource=mine)
    on_colleague = can(me, action, resource=colleague)
    on_stranger = can(me, action, resource=stranger)

    assert general.allowed is (mark != "."), general.reason
    assert on_mine.allowed is (mark != "."), on_mine.reason
    assert on_colleague.allowed is (mark in "ag"), on_colleague.reason
    assert on_stranger.allowed is (mark == "a"), on_stranger.reason
    for decision in (general, on_mine, on_colleague, on_stranger):
        assert decision.reason  # always says why, allowed or not


@pytest.mark.parametrize("role", list(UserRole))
@pytest.mark.parametrize("action", list(Action))
def test_blocked_user_may_do_nothing(role: UserRole, action: Action) -> None:
    blocked = Person(id=1, role=role, status="blocked")
    decision = can(blocked, action, resource=Resource(agent_id=1, agency_id=MY_AGENCY))
    assert not decision.allowed
    assert "заблокирован" in decision.reason


@pytest.mark.parametrize("action", list(Action))
def test_nobody_signed_in_may_do_nothing(action: Action) -> None:
    assert not can(None, action).allowed


def test_unknown_role_or_status_grants_nothing() -> None:
    assert not can(Person(id=1, role=""), Action.BROWSE).allowed
    assert not can(Person(id=1, role="SUPERUSER"), Action.BROWSE).allowed
    assert not can(Person(id=1, role="ADMIN", status="suspended"), Action.BROWSE).allowed


def test_new_member_browses_only() -> None:
    newcomer = Person(id=1, role="NEW_MEMBER")
    allowed = [a for a in Action if can(newcomer, a).allowed]
    assert allowed == [Action.BROWSE]
    refusal = can(newcomer, Action.CREATE_BOOKING)
    assert "Новый участник" in refusal.reason
    assert "бронирование" in refusal.reason


def test_temporary_role_is_shown_never_applied() -> None:
    # A new member who asked to become an admin is still a new member until someone approves it.
    hopeful = User(
        id=5,
        lastName="Петров",
        firstName="Пётр",
        phone="+79990000000",
        email="p@example.ru",
        status=UserStatus.ACTIVE,
        role=UserRole.NEW_MEMBER,
        temporary_role=UserRole.ADMIN,
        agency_id=MY_AGENCY,
    )
    assert not can(hopeful, Action.CREATE_BOOKING).allowed
    assert not can(hopeful, Action.MANAGE_USERS).allowed
    summary = role_summary(hopeful)
    assert "Новый участник" in summary
    assert "Администратор" in summary
    assert "не действует" in summary
    # And the other way round: a manager asking for less keeps what they have.
    manager = hopeful.model_copy(update={"role": UserRole.MANAGER, "temporary_role": UserRole.AGENT})
    assert can(manager, Action.CANCEL_ANY_BOOKING, resource=Resource(9, OTHER_AGENCY)).allowed


def test_agent_without_agency_cannot_act_for_any_agency() -> None:
    loner = Person(id=1, role="AGENT", agency_id=None)
    decision = can(loner, Action.CREATE_CLIENT, resource=Resource(agent_id=1, agency_id=None))
    assert not decision.allowed
    assert "не привязан к агентству" in decision.reason
    # ...but their own bookings are still theirs to cancel.
    assert can_cancel_booking(loner, Resource(agent_id=1, agency_id=None)).allowed


def test_cancel_booking_reasons() -> None:
    agent = Person(id=1, role="AGENT")
    head = Person(id=7, role="HEAD_OF_AGENCY")
    other_agency = Resource(agent_id=3, agency_id=OTHER_AGENCY)
    colleague = Resource(agent_id=2, agency_id=MY_AGENCY)

    refused = can_cancel_booking(agent, other_agency)
    assert not refused.allowed
    assert "другому агентству" in refused.reason
    refused = can_cancel_booking(agent, colleague)
    assert not refused.allowed
    assert "другим агентом" in refused.reason
    assert can_cancel_booking(agent, Resource(agent_id=1, agency_id=MY_AGENCY)).allowed

    assert can_cancel_booking(head, colleague).allowed
    refused = can_cancel_booking(head, other_agency)
    assert not refused.allowed
    assert "другому агентству" in refused.reason

    assert can_cancel_booking(Person(id=9, role="MANAGER", agency_id=None), other_agency).allowed
    assert not can_cancel_booking(Person(id=9, role="NEW_MEMBER"), colleague).allowed
    assert may_cancel_bookings(agent).allowed
    assert not may_cancel_bookings(Person(id=9, role="AFFILIATE_MANAGER")).allowed


def test_require_raises_with_the_reason() -> None:
    agent = Person(id=1, role="AGENT")
    with pytest.raises(NotAllowed, match="другому агентству") as caught:
        require(agent, Action.CANCEL_ANY_BOOKING, resource=Resource(agent_id=3, agency_id=OTHER_AGENCY))
    assert not caught.value.decision.allowed
    assert require(agent, "cancel_own_booking", resource=Resource(agent_id=1, agency_id=MY_AGENCY))
    # A scoped permission needs the record: without it, an agent could act for anyone.
    with pytest.raises(NotAllowed, match="чья это запись"):
        require(agent, Action.CREATE_BOOKING)
    # Unscoped ones do not.
    assert require(Person(id=9, role="MANAGER"), Action.CREATE_BOOKING).allowed
    with pytest.raises(NotAllowed):
        require(Person(id=9, role="NEW_MEMBER"), Action.CREATE_BOOKING, resource=Resource(9, MY_AGENCY))


def test_record_of_unknown_owner_only_for_unscoped_roles() -> None:
    nobody_knows = Resource(agent_id=None, agency_id=None)
    refused = can(Person(id=1, role="AGENT"), Action.CREATE_BOOKING, resource=nobody_knows)
    assert not refused.allowed
    assert "чья это запись" in refused.reason
    assert not can_cancel_booking(Person(id=1, role="HEAD_OF_AGENCY"), nobody_knows).allowed
    assert can_cancel_booking(Person(id=1, role="OZK_MANAGER"), nobody_knows).allowed


def test_unknown_action_is_an_error_not_a_refusal() -> None:
    with pytest.raises(ValueError, match="fly"):
        can(Person(id=1, role="ADMIN"), "fly")
