"""What a successful action changes in the local cache at once, so pages show it before the next sync
(which reconciles anyway). Each change is one transaction on its own cursor: a record of what Brusnika
answered plus the inbound row it affects (premise or slot), both or neither, taken under the cache's
write lock (`lock`, the one the sync commits under) so it never races a sync commit.

Tables are created by `kontur.cache` (`LOCAL_TABLES`: snake_case wire fields + `recorded_at`). They have
no primary key, so an upsert is DELETE + INSERT inside the transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import duckdb

from kontur.models import Agency, Booking, Client, User, Visit

from .writes import WriteLock, WriteLockTimeout, serialised

log = logging.getLogger(__name__)

# Table -> its columns in the order the rows below are built (identifiers from this constant only).
_COLUMNS: dict[str, tuple[str, ...]] = {
    "users": (
        "id",
        "last_name",
        "first_name",
        "phone",
        "email",
        "status",
        "role",
        "temporary_role",
        "city_id",
        "birth_date",
        "agency_id",
        "work_start_date",
        "avatar",
        "remaining_user_creation_limit",
        "recorded_at",
    ),
    "agencies": (
        "id",
        "title",
        "city_id",
        "legal_name",
        "inn",
        "phone",
        "email",
        "owner_full_name",
        "owner_phone",
        "recorded_at",
    ),
    "clients": (
        "id",
        "fullname",
        "phone_number",
        "comment",
        "agent_id",
        "actived_date",
        "fixing_type_updated_at",
        "expiration_date",
        "fixing_type",
        "recorded_at",
    ),
    "bookings": (
        "id",
        "premise_id",
        "client_id",
        "agent_id",
        "date",
        "time",
        "purchase_option",
        "status",
        "recorded_at",
    ),
    "visits": (
        "id",
        "project_id",
        "agent_id",
        "client_id",
        "date",
        "time",
        "time_slot_id",
        "request_date",
        "request_time",
        "status",
        "recorded_at",
    ),
}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _row(table: str, model: Any) -> list[Any]:
    """The model's values in the table's column order (pydantic field names are the snake_case)."""
    data = model.model_dump(mode="python", by_alias=False)
    values = []
    for column in _COLUMNS[table]:
        value = _now() if column == "recorded_at" else data.get(column)
        values.append(value.value if hasattr(value, "value") else value)
    return values


def _insert_sql(table: str) -> str:
    columns = _COLUMNS[table]
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 (identifiers from _COLUMNS)


def _transaction(
    conn: duckdb.DuckDBPyConnection,
    work: Callable[[duckdb.DuckDBPyConnection], object],
    lock: WriteLock | None,
) -> bool:
    """Run `work` in one transaction, serialised with the sync's commits (`writes.serialised`). A
    failure even so leaves the cache as it was and returns False: the next sync brings the truth."""
    try:
        serialised(conn, work, lock=lock)
    except (duckdb.Error, WriteLockTimeout):
        log.warning("local cache update deferred to the next sync", exc_info=True)
        return False
    return True


def _upsert(cur: duckdb.DuckDBPyConnection, table: str, models: Sequence[Any]) -> None:
    if not models:
        return
    cur.executemany(f"DELETE FROM {table} WHERE id = ?", [[m.id] for m in models])  # noqa: S608
    cur.executemany(_insert_sql(table), [_row(table, m) for m in models])


def booking_created(conn: duckdb.DuckDBPyConnection, booking: Booking, *, lock: WriteLock | None) -> bool:
    """The booking, its premise booked, and the agent's quota less one, all or nothing. The quota
    moves once per booking id: a replayed answer (the same Idempotency-Key sent again, e.g. a
    double click or a retry after a lost answer) names a booking already stored and changes no
    quota, exactly as Brusnika counted it once."""

    def work(cur: duckdb.DuckDBPyConnection) -> None:
        known = cur.execute("SELECT count(*) FROM bookings WHERE id = ?", [booking.id]).fetchone()
        new = known is not None and known[0] == 0
        _upsert(cur, "bookings", [booking])
        cur.execute("UPDATE premises SET is_booked = true WHERE id = ?", [booking.premise_id])
        if new:
            cur.execute(
                "UPDATE users SET remaining_user_creation_limit ="
                " greatest(remaining_user_creation_limit - 1, 0) WHERE id = ?",
                [booking.agent_id],
            )

    return _transaction(conn, work, lock)


def booking_cancelled(conn: duckdb.DuckDBPyConnection, booking: Booking, *, lock: WriteLock | None) -> bool:
    def work(cur: duckdb.DuckDBPyConnection) -> None:
        _upsert(cur, "bookings", [booking])
        cur.execute("UPDATE premises SET is_booked = false WHERE id = ?", [booking.premise_id])

    return _transaction(conn, work, lock)


def visit_saved(
    conn: duckdb.DuckDBPyConnection, visit: Visit, *, slot_booked: bool, lock: WriteLock | None
) -> bool:
    def work(cur: duckdb.DuckDBPyConnection) -> None:
        _upsert(cur, "visits", [visit])
        if visit.time_slot_id is not None:
            cur.execute("UPDATE time_slots SET is_booked = ? WHERE id = ?", [slot_booked, visit.time_slot_id])

    return _transaction(conn, work, lock)


def set_slot_booked(
    conn: duckdb.DuckDBPyConnection, slot_id: int, booked: bool, *, lock: WriteLock | None
) -> bool:
    return _transaction(
        conn,
        lambda cur: cur.execute("UPDATE time_slots SET is_booked = ? WHERE id = ?", [booked, slot_id]),
        lock,
    )


def clients_saved(
    conn: duckdb.DuckDBPyConnection, clients: Iterable[Client], *, lock: WriteLock | None
) -> bool:
    batch = list(clients)
    return _transaction(conn, lambda cur: _upsert(cur, "clients", batch), lock)


def agencies_saved(
    conn: duckdb.DuckDBPyConnection, agencies: Iterable[Agency], *, lock: WriteLock | None
) -> bool:
    batch = list(agencies)
    return _transaction(conn, lambda cur: _upsert(cur, "agencies", batch), lock)


def users_saved(conn: duckdb.DuckDBPyConnection, users: Iterable[User], *, lock: WriteLock | None) -> bool:
    batch = list(users)
    return _transaction(conn, lambda cur: _upsert(cur, "users", batch), lock)


def time_slot(conn: duckdb.DuckDBPyConnection, slot_id: int) -> dict | None:
    cur = conn.cursor()
    try:
        row = cur.execute(
            "SELECT id, project_id, date, time, duration_minutes, is_booked FROM time_slots WHERE id = ?",
            [slot_id],
        ).fetchone()
    finally:
        cur.close()
    if row is None:
        return None
    return dict(zip(("id", "project_id", "date", "time", "duration_minutes", "is_booked"), row, strict=True))
