"""The users directory: seeded from the sandbox in demo mode, changed and pushed to Brusnika with
`PUT /users/{id}` within the policy's grant rules (`policy.may_change_user`).

Every change is checked here, against the entry as stored, before anything is sent: the Users page
offers only what the acting person may set (`edit_options`), but the page is not what is trusted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from kontur import labels
from kontur.auth import directory
from kontur.auth.actor import Actor, acting_refusal, booking_refusal
from kontur.auth.policy import Action, Decision, grantable_roles, may_change_user
from kontur.models import User, UserRole, UserStatus

from . import flow, local
from .context import FormContext
from .submit import Outcome, call_plain
from .writes import WriteLock

FORM = "user"
AUDIT_ACTION = "put_user"


def seed(conn: Any, users: Iterable[dict[str, Any]], *, lock: WriteLock | None = None) -> int:
    """Load the sandbox's directory (`SandboxAdmin.users()`) into the local `users` table; `lock` is
    the cache's write lock (None only where nothing else writes the file)."""
    parsed = [User.model_validate(row) for row in users]
    local.users_saved(conn, parsed, lock=lock)
    return len(parsed)


def listed(conn: Any, actor: Actor | None) -> list[dict[str, Any]]:
    """The directory as the Users page lists it for `actor`: everyone for an administrator, their
    agency's people for a head of agency, nobody for a role without `manage_users`."""
    return directory.users(conn, directory.scope_for(conn, actor, Action.MANAGE_USERS))


def stored(conn: Any, user_id: int) -> User | None:
    """The entry as the directory holds it now (what a change is checked against)."""
    return directory.stored_user(conn, user_id)


def table(listed_rows: list[dict[str, Any]], agencies: dict[int, str]) -> pd.DataFrame:
    """The Users page's table: names, role and status in words, agency, bookings left."""
    return pd.DataFrame(
        [
            {
                "№": row["id"],
                "Пользователь": f"{row['lastName']} {row['firstName']}",
                "Роль": labels.label_of(UserRole, row["role"]),
                "Статус": labels.label_of(UserStatus, row["status"]),
                "Агентство": agencies.get(row["agency_id"])
                or (f"№{row['agency_id']}" if row["agency_id"] else "—"),
                "Осталось броней": row["remaining_user_creation_limit"],
                "Может бронировать": booking_refusal(Actor.from_row(row)) or "да",
            }
            for row in listed_rows
        ],
        columns=["№", "Пользователь", "Роль", "Статус", "Агентство", "Осталось броней", "Может бронировать"],
    )


@dataclass(frozen=True)
class EditOptions:
    """What the Users page offers `actor` for one stored entry."""

    roles: list[str]  # the role choices (the stored role first stays selectable only if grantable)
    statuses: list[str]
    limit: bool  # whether the booking limit is editable
    decision: Decision  # whether anything at all may be changed, with the reason


def edit_options(actor: Actor | None, stored: User) -> EditOptions:
    """The choices to offer, derived from the same rules `push` applies (so the page never offers a
    change that would be refused)."""
    everything = [status.value for status in UserStatus]
    if actor is not None and actor.id == stored.id:
        return EditOptions(
            roles=[stored.role.value],
            statuses=[stored.status.value],
            limit=False,
            decision=Decision(False, "Свои роль, статус и лимит броней менять нельзя."),
        )
    decision = may_change_user(actor, stored, stored)
    if not decision.allowed:
        return EditOptions([stored.role.value], [stored.status.value], False, decision)
    roles = [role.value for role in grantable_roles(actor)]
    probe = stored.model_copy(
        update={"remaining_user_creation_limit": stored.remaining_user_creation_limit + 1}
    )
    limit = may_change_user(actor, stored, probe).allowed
    return EditOptions(roles=roles, statuses=everything, limit=limit, decision=decision)


@dataclass
class UserChange:
    """What the Users page form holds for one entry."""

    user_id: int
    status: str
    role: str
    remaining: int | None = None  # None: not offered (kept as stored)


def push(ctx: FormContext, change: UserChange) -> Outcome[User]:
    """Apply `change` to the stored entry and send it to Brusnika (an upsert: repeating it changes
    nothing), within the grant rules checked against the stored entry; keep Brusnika's answer.
    A refusal is audited `refused` and sends nothing."""
    typed = dict(change.__dict__)
    if (own_state := acting_refusal(ctx.actor)) is not None:
        ctx.audit(AUDIT_ACTION, typed, "refused", message=own_state)
        return Outcome(ok=False, message=own_state, code="actor_cannot_act")
    stored = directory.stored_user(ctx.conn, change.user_id)
    if stored is None:
        message = f"Пользователя №{change.user_id} нет в справочнике Контура: обновите страницу."
        ctx.audit(AUDIT_ACTION, typed, "refused", message=message)
        return Outcome(ok=False, message=message, code="unknown_user")
    try:
        proposed = User.model_validate(
            {
                **stored.to_wire(),
                "status": UserStatus(change.status),
                "role": UserRole(change.role),
                "remaining_user_creation_limit": (
                    stored.remaining_user_creation_limit if change.remaining is None else change.remaining
                ),
            }
        )
    except ValueError as error:  # a pydantic ValidationError or an unknown enum value
        message = f"Форма заполнена неверно: {error.__class__.__name__}."
        ctx.audit(AUDIT_ACTION, typed, "invalid", message=message)
        return Outcome(ok=False, message=message, code="invalid")
    return send(ctx, proposed, stored=stored)


def send(ctx: FormContext, user: User, *, stored: User | None) -> Outcome[User]:
    """Send one entry, checked against `stored` (what the directory holds now; None: a new entry)."""
    payload = user.to_wire()
    decision = may_change_user(ctx.actor, stored, user)  # `manage_users` first, then the grant rules
    if not decision.allowed:
        ctx.audit(AUDIT_ACTION, payload, "refused", message=decision.reason, brusnika_id=user.id)
        return Outcome(ok=False, message=decision.reason, code=flow.FORBIDDEN)
    outcome = call_plain(lambda: ctx.client.put_user(user), success_message="Пользователь передан.")
    if outcome.ok and outcome.result is not None:
        saved = outcome.result
        done = f"Пользователь {saved.display_name} передан в Брусника."
        if local.users_saved(ctx.conn, [saved], lock=ctx.write_lock):
            outcome.message = done
        else:
            outcome.stored_locally = False
            outcome.message = flow.NOT_STORED.format(done=done)
    ctx.audit(AUDIT_ACTION, payload, outcome, brusnika_id=user.id)
    return outcome
