"""The users directory: seeded from the sandbox in demo mode, pushed to Brusnika with `PUT /users/{id}`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kontur.auth import enforce
from kontur.auth.policy import Action
from kontur.models import User

from . import local
from .context import FormContext
from .submit import Outcome, call_plain
from .writes import WriteLock


def seed(conn: Any, users: Iterable[dict[str, Any]], *, lock: WriteLock | None = None) -> int:
    """Load the sandbox's directory (`SandboxAdmin.users()`) into the local `users` table; `lock` is
    the cache's write lock (None only where nothing else writes the file)."""
    parsed = [User.model_validate(row) for row in users]
    local.users_saved(conn, parsed, lock=lock)
    return len(parsed)


def push(ctx: FormContext, user: User) -> Outcome[User]:
    """Send one user to Brusnika (an upsert: repeating it changes nothing) and keep its answer."""
    payload = user.to_wire()
    scope = enforce.user(ctx, user.id, user.agency_id)
    if (denied := enforce.refusal(ctx, Action.MANAGE_USERS, "put_user", payload, resource=scope)) is not None:
        return denied
    outcome = call_plain(lambda: ctx.client.put_user(user), success_message="Пользователь передан.")
    if outcome.ok and outcome.result is not None:
        local.users_saved(ctx.conn, [outcome.result], lock=ctx.write_lock)
        outcome.message = f"Пользователь {outcome.result.display_name} передан в Брусника."
    ctx.audit("put_user", payload, outcome, brusnika_id=user.id)
    return outcome
