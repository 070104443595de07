"""Who may grant what (`policy.may_change_user`, `GRANTS`): one test per rule, each with the change
that must pass next to the one that must not, so a rule that stops checking fails here."""

from __future__ import annotations

import pytest

from kontur.auth.actor import Actor
from kontur.auth.policy import GRANTS, grantable_roles, may_change_user
from kontur.models import User, UserRole, UserStatus

R = UserRole
MINE, OTHER = 10, 20


def entry(uid: int, role: UserRole, *, agency: int | None = MINE, limit: int = 3, **more: object) -> User:
    return User.model_validate(
        {
            "id": uid,
            "lastName": f"Тестов{uid}",
            "firstName": "Иван",
            "phone": "+79990000000",
            "email": f"u{uid}@agency.test",
            "status": "active",
            "role": role,
            "agency_id": agency,
            "remaining_user_creation_limit": limit,
            **more,
        }
    )


def actor_of(user: User) -> Actor:
    return Actor.from_user(user)


ADMIN = entry(1, R.ADMIN, agency=None)
HEAD = entry(2, R.HEAD_OF_AGENCY)
AGENT = entry(3, R.AGENT)  # in the head's agency
NEWBIE = entry(4, R.NEW_MEMBER)
FOREIGN_AGENT = entry(5, R.AGENT, agency=OTHER)
COLLEAGUE_HEAD = entry(6, R.HEAD_OF_AGENCY)


def change(user: User, **update: object) -> User:
    return user.model_copy(update=update)


def test_grant_table_is_as_documented() -> None:
    assert set(GRANTS) == {R.ADMIN, R.HEAD_OF_AGENCY}
    assert GRANTS[R.ADMIN].roles == frozenset(UserRole)
    assert GRANTS[R.ADMIN].limit
    assert GRANTS[R.HEAD_OF_AGENCY].roles == frozenset({R.AGENT, R.NEW_MEMBER})
    assert not GRANTS[R.HEAD_OF_AGENCY].limit


@pytest.mark.parametrize("who", [ADMIN, HEAD])
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("role", R.MANAGER),
        ("role", R.AGENT),
        ("status", UserStatus.BLOCKED),
        ("agency_id", OTHER),
        ("remaining_user_creation_limit", 99),
    ],
)
def test_nobody_changes_their_own_rights(who: User, field: str, value: object) -> None:
    refused = may_change_user(actor_of(who), who, change(who, **{field: value}))
    assert not refused.allowed
    assert "Свои права менять нельзя" in refused.reason
    # Their own phone is theirs to fix.
    assert may_change_user(actor_of(who), who, change(who, phone="+79991112233")).allowed


def test_head_sets_only_agent_or_new_member() -> None:
    head = actor_of(HEAD)
    assert may_change_user(head, AGENT, change(AGENT, role=R.NEW_MEMBER)).allowed
    assert may_change_user(head, NEWBIE, change(NEWBIE, role=R.AGENT)).allowed
    assert may_change_user(head, AGENT, change(AGENT, status=UserStatus.BLOCKED)).allowed
    for role in (R.ADMIN, R.MANAGER, R.OZK_MANAGER, R.AFFILIATE_MANAGER, R.HEAD_OF_AGENCY):
        refused = may_change_user(head, AGENT, change(AGENT, role=role))
        assert not refused.allowed, role
        assert "может назначить только администратор" in refused.reason
    # Nor as a pending request for someone to approve later.
    assert not may_change_user(head, AGENT, change(AGENT, temporary_role=R.ADMIN)).allowed
    assert grantable_roles(head) == [R.AGENT, R.NEW_MEMBER]


def test_head_acts_only_within_their_agency() -> None:
    head = actor_of(HEAD)
    refused = may_change_user(head, FOREIGN_AGENT, change(FOREIGN_AGENT, status=UserStatus.BLOCKED))
    assert not refused.allowed
    assert "не из вашего агентства" in refused.reason
    # Nor moves someone out of it, or someone into it.
    assert not may_change_user(head, AGENT, change(AGENT, agency_id=OTHER)).allowed
    assert not may_change_user(head, FOREIGN_AGENT, change(FOREIGN_AGENT, agency_id=MINE)).allowed


def test_head_never_sets_the_booking_limit() -> None:
    head = actor_of(HEAD)
    refused = may_change_user(head, AGENT, change(AGENT, remaining_user_creation_limit=50))
    assert not refused.allowed
    assert "Лимит броней меняет только администратор" in refused.reason
    assert may_change_user(actor_of(ADMIN), AGENT, change(AGENT, remaining_user_creation_limit=50)).allowed


def test_head_does_not_manage_a_colleague_head() -> None:
    refused = may_change_user(
        actor_of(HEAD), COLLEAGUE_HEAD, change(COLLEAGUE_HEAD, status=UserStatus.BLOCKED)
    )
    assert not refused.allowed
    assert "управляет только администратор" in refused.reason


@pytest.mark.parametrize("role", [R.ADMIN, R.MANAGER, R.OZK_MANAGER, R.AFFILIATE_MANAGER])
def test_only_admin_grants_the_company_roles(role: UserRole) -> None:
    assert may_change_user(actor_of(ADMIN), AGENT, change(AGENT, role=role)).allowed
    for who in (HEAD, entry(7, R.MANAGER), entry(8, R.OZK_MANAGER), entry(9, R.AGENT)):
        assert not may_change_user(actor_of(who), AGENT, change(AGENT, role=role)).allowed, who.role


def test_roles_without_manage_users_change_nothing() -> None:
    for role in (R.MANAGER, R.OZK_MANAGER, R.AFFILIATE_MANAGER, R.AGENT, R.NEW_MEMBER):
        who = actor_of(entry(11, role))
        refused = may_change_user(who, AGENT, change(AGENT, phone="+79990000111"))
        assert not refused.allowed
        assert "управление пользователями" in refused.reason
        assert grantable_roles(who) == []
    blocked_admin = Actor.from_user(change(ADMIN, status=UserStatus.BLOCKED))
    assert not may_change_user(blocked_admin, AGENT, change(AGENT, role=R.NEW_MEMBER)).allowed


def test_checked_against_the_stored_entry_not_the_form() -> None:
    # The form claims the target is an agent of the head's agency; the stored entry says otherwise.
    stored_admin = entry(12, R.ADMIN, agency=MINE)
    disguised = change(stored_admin, role=R.AGENT)
    assert not may_change_user(actor_of(HEAD), stored_admin, disguised).allowed
    # A different record than the one stored is never accepted.
    assert not may_change_user(actor_of(ADMIN), AGENT, change(NEWBIE, role=R.AGENT)).allowed


def test_a_new_entry_is_a_grant_of_its_role() -> None:
    head = actor_of(HEAD)
    newcomer = entry(13, R.AGENT, limit=0)
    assert may_change_user(head, None, newcomer).allowed
    assert not may_change_user(head, None, change(newcomer, role=R.ADMIN)).allowed
    assert not may_change_user(head, None, change(newcomer, remaining_user_creation_limit=5)).allowed
    assert not may_change_user(head, None, change(newcomer, agency_id=OTHER)).allowed
