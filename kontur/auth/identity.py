"""Who is signed in: the provider's claims matched to the local users directory by email.

The provider vouches for an email address; the directory (Brusnika's users, as kept locally) says
which user that is, their role, agency and status. A person the directory does not know, or knows as
blocked, is refused: signing in at the company's provider is not by itself a licence to act.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from kontur.models import User, UserStatus


class RefusalCode(StrEnum):
    NO_EMAIL = "no_email"
    UNVERIFIED_EMAIL = "unverified_email"
    UNKNOWN = "unknown"
    AMBIGUOUS = "ambiguous"
    BLOCKED = "blocked"
    SIGNED_OUT = "signed_out"


@dataclass(frozen=True)
class SignedIn:
    user: User
    email: str  # as the provider gave it: the identity written to the audit table

    @property
    def identity(self) -> str:
        """`email (user #id)`: who acted, as recorded with every action."""
        return f"{self.email} (user #{self.user.id})"


@dataclass(frozen=True)
class Refusal:
    code: RefusalCode
    reason: str  # in Russian, safe to show: names nothing but the person's own email
    email: str | None = None


def normalise_email(value: str) -> str:
    """Emails compare case-insensitively in practice (providers and directories disagree on case)."""
    return value.strip().lower()


def claims_email(claims: Mapping[str, Any]) -> str | None:
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip():
        return None
    return email.strip()


def email_verified(claims: Mapping[str, Any], *, absent_is_verified: bool = False) -> bool:
    """The provider vouches for the address only with `email_verified` true. A provider that never
    sends the claim can be accepted by configuration (`KONTUR_EMAIL_VERIFIED_OPTIONAL`); an explicit
    false (or anything but true) never is."""
    if "email_verified" not in claims:
        return absent_is_verified
    value = claims["email_verified"]
    # Some providers send the claim as the string "true".
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def match_user(
    claims: Mapping[str, Any], directory: Iterable[User], *, email_verified_optional: bool = False
) -> SignedIn | Refusal:
    """The acting user for these claims (`st.user`), or why there is none."""
    email = claims_email(claims)
    if email is None:
        return Refusal(
            RefusalCode.NO_EMAIL,
            "Провайдер входа не сообщил адрес электронной почты, поэтому мы не можем узнать вас.",
        )
    # Whoever controls an unverified address at the provider could claim anybody's directory entry.
    if not email_verified(claims, absent_is_verified=email_verified_optional):
        return Refusal(
            RefusalCode.UNVERIFIED_EMAIL,
            f"Адрес {email} не подтверждён у провайдера входа. Подтвердите его и войдите снова.",
            email,
        )
    wanted = normalise_email(email)
    found = [user for user in directory if normalise_email(user.email) == wanted]
    if not found:
        return Refusal(
            RefusalCode.UNKNOWN,
            f"Пользователь {email} не найден в справочнике пользователей. Обратитесь к администратору.",
            email,
        )
    if len(found) > 1:
        # Two directory entries with one address: picking either could hand someone the wrong role.
        return Refusal(
            RefusalCode.AMBIGUOUS,
            f"Адрес {email} указан у нескольких пользователей справочника. Обратитесь к администратору.",
            email,
        )
    user = found[0]
    if user.status is UserStatus.BLOCKED:
        return Refusal(
            RefusalCode.BLOCKED,
            f"Пользователь {email} заблокирован. Вход невозможен; обратитесь к администратору.",
            email,
        )
    return SignedIn(user=user, email=email)


def directory_from_records(records: Iterable[Mapping[str, Any]]) -> tuple[list[User], list[str]]:
    """Users from stored rows (wire names or field names alike), plus a note for each row that is
    not a valid user; such a row can never sign anyone in, but it is reported, not hidden."""
    users: list[User] = []
    problems: list[str] = []
    for record in records:
        try:
            users.append(User.model_validate(dict(record)))
        except ValidationError as exc:
            problems.append(f"user {record.get('id')!r}: {exc.error_count()} invalid field(s)")
    return users, problems
