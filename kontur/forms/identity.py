"""Who is acting. Kontur has no sign-in of its own in demo mode, so a person picks a user from the
directory; the choice is marked as a demo choice wherever it shows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kontur.models.enums import UserStatus

ACTOR_STATE_KEY = "kontur.actor_id"


@dataclass(frozen=True)
class Actor:
    id: int
    name: str
    role: str
    status: str
    remaining: int
    agency_id: int | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Actor:
        name = f"{row.get('lastName') or ''} {row.get('firstName') or ''}".strip() or f"#{row['id']}"
        return cls(
            id=int(row["id"]),
            name=name,
            role=str(row.get("role") or ""),
            status=str(row.get("status") or ""),
            remaining=int(row.get("remaining_user_creation_limit") or 0),
            agency_id=row.get("agency_id"),
        )


def booking_refusal(actor: Actor | None) -> str | None:
    """Why this user may not book right now, or None when they may."""
    if actor is None:
        return "Выберите, от чьего имени вы действуете (боковая панель)."
    if actor.status == UserStatus.BLOCKED:
        return f"Пользователь {actor.name} заблокирован — бронировать от его имени нельзя."
    if actor.remaining <= 0:
        return f"У пользователя {actor.name} не осталось бронирований (лимит исчерпан)."
    return None


def acting_refusal(actor: Actor | None) -> str | None:
    """Why this user may not act at all (visits, clients, agencies)."""
    if actor is None:
        return "Выберите, от чьего имени вы действуете (боковая панель)."
    if actor.status == UserStatus.BLOCKED:
        return f"Пользователь {actor.name} заблокирован — действовать от его имени нельзя."
    return None
