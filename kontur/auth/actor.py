"""The acting person: one type for whoever acts in a session, whether signed in through the company's
provider or picked in the demo, and for every directory row a check or an audit row looks at.

The policy (`policy.can`), the read scopes (`scopes.read_scope`), the forms and the audit all take
this `Actor`; it carries what they need and nothing the provider said that the directory did not
confirm.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kontur.models import User
from kontur.models.enums import UserStatus


@dataclass(frozen=True)
class Actor:
    id: int
    name: str  # as written to the audit: "Фамилия Имя", with "<email>" when signed in
    role: str  # a `UserRole` value; an unknown one grants nothing (see `policy`)
    status: str  # a `UserStatus` value
    remaining: int = 0  # bookings the user may still make (`remaining_user_creation_limit`)
    agency_id: int | None = None
    temporary_role: str | None = None  # a pending role request: shown, never applied
    email: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Actor:
        """From a directory row by wire names (`lastName`, `firstName`, …)."""
        name = f"{row.get('lastName') or ''} {row.get('firstName') or ''}".strip() or f"#{row['id']}"
        agency = row.get("agency_id")
        return cls(
            id=int(row["id"]),
            name=name,
            role=str(row.get("role") or ""),
            status=str(row.get("status") or ""),
            remaining=int(row.get("remaining_user_creation_limit") or 0),
            agency_id=None if agency is None else int(agency),
            temporary_role=row.get("temporary_role") or None,
            email=row.get("email"),
        )

    @classmethod
    def from_user(cls, user: User, *, signed_in_as: str | None = None) -> Actor:
        """From a validated directory user; `signed_in_as` (the provider's email) goes into the name,
        so every audit row says which account acted."""
        name = user.display_name + (f" <{signed_in_as}>" if signed_in_as else "")
        return cls(
            id=user.id,
            name=name,
            role=str(user.role),
            status=str(user.status),
            remaining=user.remaining_user_creation_limit,
            agency_id=user.agency_id,
            temporary_role=None if user.temporary_role is None else str(user.temporary_role),
            email=signed_in_as or user.email,
        )


def booking_refusal(actor: Actor | None) -> str | None:
    """Why this user may not book right now (their own state, before the roles policy), or None."""
    if actor is None:
        return "Не выбран пользователь, от имени которого вы действуете."
    if actor.status == UserStatus.BLOCKED:
        return f"Пользователь {actor.name} заблокирован — бронировать от его имени нельзя."
    if actor.remaining <= 0:
        return f"У пользователя {actor.name} не осталось бронирований (лимит исчерпан)."
    return None


def acting_refusal(actor: Actor | None) -> str | None:
    """Why this user may not act at all (visits, clients, agencies, users)."""
    if actor is None:
        return "Не выбран пользователь, от имени которого вы действуете."
    if actor.status == UserStatus.BLOCKED:
        return f"Пользователь {actor.name} заблокирован — действовать от его имени нельзя."
    return None
