"""The audit: one row per outbound action (or refusal), shared by every replica.

Who acted (`actor_id` and a display text), for which agent (`on_behalf_of`: a manager booking for an
agent records both), what was asked (the request body, secrets scrubbed), how it ended, which Brusnika
record it touched, the message shown, and the submission's idempotency key.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from .db import utcnow
from .schema import actions

# Keys whose values never reach the table, whatever a caller passes in by mistake.
_SECRET_KEY = re.compile(r"token|authorization|password|secret|api[_-]?key|cookie", re.IGNORECASE)
REDACTED = "***"


def scrub(value: Any) -> Any:
    """A JSON-ready copy of `value` with every secret-looking key's value replaced."""
    if isinstance(value, Mapping):
        return {str(k): (REDACTED if _SECRET_KEY.search(str(k)) else scrub(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if hasattr(value, "value") and isinstance(value.value, str | int):  # enums: their wire value
        return value.value
    return str(value)  # dates, decimals: as text, like the cache's json.dumps(default=str)


@dataclass(frozen=True)
class ActionEntry:
    """One action to record. `on_behalf_of` is the agent the action was for (the contract's
    `agent_id`), which differs from `actor_id` when a manager acts for an agent."""

    action: str  # create_booking, cancel_booking, create_visit, …, put_user, save_user
    outcome: str  # success | refused | invalid | failed | unknown
    actor_id: int | None = None
    actor: str | None = None  # display: "Фамилия Имя <email> (#id)", "cli: root"
    on_behalf_of: int | None = None
    request: Mapping[str, Any] | None = None
    brusnika_id: int | None = None
    message: str | None = None
    idempotency_key: str | None = None
    at: dt.datetime | None = None


@dataclass(frozen=True)
class ActionRow:
    id: int
    at: dt.datetime
    actor_id: int | None
    actor: str | None
    on_behalf_of: int | None
    action: str
    request: Any
    outcome: str
    brusnika_id: int | None
    message: str | None
    idempotency_key: str | None


@dataclass(frozen=True)
class ActionPage:
    rows: list[ActionRow]
    # Pass as `before` for the next (older) page; None when this page was the last.
    next_before: tuple[dt.datetime, int] | None


def _values(entry: ActionEntry, now: dt.datetime) -> dict[str, Any]:
    return {
        "at": entry.at or now,
        "actor_id": entry.actor_id,
        "actor": entry.actor,
        "on_behalf_of": entry.on_behalf_of,
        "action": entry.action,
        "request": None if entry.request is None else scrub(entry.request),
        "outcome": entry.outcome,
        "brusnika_id": entry.brusnika_id,
        "message": entry.message or None,
        "idempotency_key": entry.idempotency_key,
    }


def record_action(conn: Connection, entry: ActionEntry) -> int:
    """Append one row; returns its id."""
    result = conn.execute(sa.insert(actions).values(_values(entry, utcnow())).returning(actions.c.id))
    return int(result.scalar_one())


def record_actions(conn: Connection, entries: Iterable[ActionEntry]) -> int:
    """Append many rows in one statement batch; returns how many."""
    now = utcnow()
    rows = [_values(entry, now) for entry in entries]
    if rows:
        conn.execute(sa.insert(actions), rows)
    return len(rows)


def _row(row: RowMapping) -> ActionRow:
    return ActionRow(**{name: row[name] for name in ActionRow.__dataclass_fields__})


def list_actions(
    conn: Connection,
    *,
    involving: Collection[int] | None,
    actions_named: Collection[str] | None = None,
    limit: int = 200,
    before: tuple[dt.datetime, int] | None = None,
) -> ActionPage:
    """Audit rows newest first, `limit` per page.

    `involving` is the reader's scope (`ReadScope.agent_ids`): rows whose actor *or* agent acted for is
    one of these ids (None: every row; empty: none) - an agent sees what was done for them by a
    manager as well as what they did. `actions_named` keeps those actions only. `before` is the
    previous page's `next_before` (keyset paging: stable while rows are being added).
    """
    if involving is not None and not involving:
        return ActionPage([], None)
    query = sa.select(actions).order_by(actions.c.at.desc(), actions.c.id.desc()).limit(limit + 1)
    if involving is not None:
        ids = sorted({int(i) for i in involving})
        query = query.where(sa.or_(actions.c.actor_id.in_(ids), actions.c.on_behalf_of.in_(ids)))
    if actions_named is not None:
        query = query.where(actions.c.action.in_(sorted(actions_named)))
    if before is not None:
        at, row_id = before
        query = query.where(sa.or_(actions.c.at < at, sa.and_(actions.c.at == at, actions.c.id < row_id)))
    rows = [_row(row) for row in conn.execute(query).mappings()]
    more = len(rows) > limit
    rows = rows[:limit]
    return ActionPage(rows, (rows[-1].at, rows[-1].id) if more and rows else None)
