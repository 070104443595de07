"""Writing a DuckDB cache file of the older layout, the way the code before the operational store
wrote it (its users directory, local records and `actions` audit rows): what `kontur.store.legacy`
moves. The statements are those of that code (`kontur.forms.local`'s upsert per table,
`kontur.actions.insert`), kept here as the fixture the move is tested against."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

import duckdb
from pydantic import BaseModel

from kontur.cache.ddl import LOCAL_TABLES
from kontur.store.audit import scrub


def _row(table: str, model: BaseModel, at: dt.datetime) -> list[Any]:
    data = model.model_dump(mode="python", by_alias=False)
    values = []
    for column, _type in LOCAL_TABLES[table]:
        value = at if column == "recorded_at" else data.get(column)
        values.append(value.value if hasattr(value, "value") else value)
    return values


def upsert(
    con: duckdb.DuckDBPyConnection, table: str, models: Iterable[BaseModel], *, at: dt.datetime | None = None
) -> None:
    """The old local upsert: DELETE + INSERT by id (the tables had no primary key)."""
    batch = list(models)
    when = at or dt.datetime.now(dt.UTC)
    columns = [c for c, _ in LOCAL_TABLES[table]]
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    con.executemany(f"DELETE FROM {table} WHERE id = ?", [[m.id] for m in batch])  # type: ignore[attr-defined]  # noqa: S608
    con.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", [_row(table, m, when) for m in batch])  # noqa: S608


def booking_created(con: duckdb.DuckDBPyConnection, booking: Any) -> None:
    """The old `booking_created`: the booking, its premise booked, the agent's quota less one."""
    known = con.execute("SELECT count(*) FROM bookings WHERE id = ?", [booking.id]).fetchone()
    upsert(con, "bookings", [booking])
    if known is not None and known[0] == 0:
        con.execute(
            "UPDATE users SET remaining_user_creation_limit = greatest(remaining_user_creation_limit - 1, 0)"
            " WHERE id = ?",
            [booking.agent_id],
        )


def action(
    con: duckdb.DuckDBPyConnection,
    *,
    user_id: int | None,
    user_name: str | None,
    action: str,
    request: Mapping[str, Any],
    outcome: str,
    brusnika_id: int | None = None,
    message: str = "",
    at: dt.datetime,
) -> None:
    """The old `actions.insert`: actor as «Name (#id)», the message in `error` unless a success."""
    actor = user_name if user_id is None else f"{user_name or 'пользователь'} (#{user_id})"
    con.execute(
        'INSERT INTO actions ("at", actor, actor_id, action, request, outcome, brusnika_id, error)'
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            at,
            actor,
            user_id,
            action,
            json.dumps(scrub(dict(request)), ensure_ascii=False, default=str, sort_keys=True),
            outcome,
            brusnika_id,
            None if outcome == "success" else (message or None),
        ],
    )
