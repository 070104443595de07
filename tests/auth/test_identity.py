"""Matching the provider's claims to the users directory."""

from __future__ import annotations

import pytest

from kontur.auth.identity import RefusalCode, SignedIn, directory_from_records, match_user
from kontur.models import User


def user(uid: int, email: str, *, status: str = "active", role: str = "AGENT") -> User:
    return User.model_validate(
        {
            "id": uid,
            "lastName": "Иванова",
            "firstName": "Анна",
            "phone": "+79990000001",
            "email": email,
            "status": status,
            "role": role,
            "agency_id": 3,
        }
    )


DIRECTORY = [
    user(1, "anna.manager@brusnika.test", role="MANAGER"),
    user(2, "Blocked.Agent@Agency.test", status="blocked"),
    user(3, "twice@agency.test"),
    user(4, "twice@agency.test"),
]


def claims(email: str, **more: object) -> dict:
    return {"email": email, "email_verified": True, **more}


def test_active_user_matched_case_insensitively() -> None:
    result = match_user(claims(" ANNA.Manager@brusnika.test ", sub="x"), DIRECTORY)
    assert isinstance(result, SignedIn)
    assert result.user.id == 1
    assert result.identity == "ANNA.Manager@brusnika.test (user #1)"


def test_blocked_user_refused() -> None:
    result = match_user(claims("blocked.agent@agency.test"), DIRECTORY)
    assert not isinstance(result, SignedIn)
    assert result.code is RefusalCode.BLOCKED
    assert "заблокирован" in result.reason


def test_unknown_user_refused() -> None:
    result = match_user(claims("stranger@elsewhere.test"), DIRECTORY)
    assert not isinstance(result, SignedIn)
    assert result.code is RefusalCode.UNKNOWN
    assert "stranger@elsewhere.test" in result.reason


def test_missing_or_unverified_email_refused() -> None:
    assert match_user({"sub": "abc"}, DIRECTORY).code is RefusalCode.NO_EMAIL  # type: ignore[union-attr]
    assert match_user({"email": "  "}, DIRECTORY).code is RefusalCode.NO_EMAIL  # type: ignore[union-attr]
    unverified = match_user({"email": "anna.manager@brusnika.test", "email_verified": False}, DIRECTORY)
    assert not isinstance(unverified, SignedIn)
    assert unverified.code is RefusalCode.UNVERIFIED_EMAIL
    verified = match_user({"email": "anna.manager@brusnika.test", "email_verified": True}, DIRECTORY)
    assert isinstance(verified, SignedIn)


@pytest.mark.parametrize("flag", [False, "false", "yes", 1, None])
def test_email_verified_must_be_true(flag: object) -> None:
    # Anything but a true claim refuses, even with the "absent is accepted" option on.
    for optional in (False, True):
        result = match_user(
            {"email": "anna.manager@brusnika.test", "email_verified": flag},
            DIRECTORY,
            email_verified_optional=optional,
        )
        assert not isinstance(result, SignedIn)
        assert result.code is RefusalCode.UNVERIFIED_EMAIL
        assert "не подтверждён" in result.reason


def test_absent_email_verified_refused_unless_configured() -> None:
    absent = {"email": "anna.manager@brusnika.test"}
    refused = match_user(absent, DIRECTORY)
    assert not isinstance(refused, SignedIn)
    assert refused.code is RefusalCode.UNVERIFIED_EMAIL
    accepted = match_user(absent, DIRECTORY, email_verified_optional=True)
    assert isinstance(accepted, SignedIn)
    assert accepted.user.id == 1
    # Some providers send the claim as a string.
    assert isinstance(match_user({**absent, "email_verified": "true"}, DIRECTORY), SignedIn)


def test_email_shared_by_two_users_refused() -> None:
    result = match_user(claims("twice@agency.test"), DIRECTORY)
    assert not isinstance(result, SignedIn)
    assert result.code is RefusalCode.AMBIGUOUS


def test_directory_from_records_reports_bad_rows() -> None:
    good = DIRECTORY[0].to_wire()
    users, problems = directory_from_records([good, {"id": 9, "email": "x@y.z"}])
    assert [u.id for u in users] == [1]
    assert len(problems) == 1
    assert problems[0].startswith("user 9")
