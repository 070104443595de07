"""What a successful action changes here: Kontur's record of it in the operational store (the booking,
visit, client or agency as Brusnika answered it; the agent's booking quota), and the cache's flags the
pages read at once (a premise booked, a slot taken) until the next sync brings Brusnika's truth.

The store functions run inside the transaction `flow.send` opens (with the audit row and the settled
key, all or nothing). The cache writes are the cache's own: each is one transaction under the cache's
write lock (`writes.serialised`, the lock the sync commits under); a failure is logged and left to
the next sync, never reported as a lost record.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import duckdb
from sqlalchemy.engine import Connection

from kontur.models import Agency, Booking, Client, Visit
from kontur.store import agencies, bookings, clients, visits
from kontur.store.bookings import BookingRecorded

from .writes import WriteLock, WriteLockTimeout, serialised

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- Kontur's records


def booking_created(tx: Connection, booking: Booking, *, recorded_by: int | None) -> BookingRecorded:
    """The booking, and the agent's quota less one, once per booking id: a replayed answer (the same
    Idempotency-Key sent again, a double click, a retry on another replica) changes no quota, exactly
    as Brusnika counted it once."""
    return bookings.booking_created(tx, booking, recorded_by=recorded_by)


def booking_saved(tx: Connection, booking: Booking, *, recorded_by: int | None) -> None:
    """A later answer about a booking (its cancellation): replaces the stored one, no quota change."""
    bookings.save_bookings(tx, [booking], recorded_by=recorded_by)


def visit_saved(tx: Connection, visit: Visit, *, recorded_by: int | None) -> None:
    visits.save_visits(tx, [visit], recorded_by=recorded_by)


def clients_saved(tx: Connection, found: Iterable[Client], *, recorded_by: int | None) -> None:
    clients.save_clients(tx, found, recorded_by=recorded_by)


def agencies_saved(tx: Connection, found: Iterable[Agency], *, recorded_by: int | None) -> None:
    agencies.save_agencies(tx, found, recorded_by=recorded_by)


# --------------------------------------------------------------------------- the cache's flags


def _cache_write(
    conn: duckdb.DuckDBPyConnection, sql: str, params: list[Any], lock: WriteLock | None
) -> bool:
    try:
        serialised(conn, lambda cur: cur.execute(sql, params), lock=lock)
    except (duckdb.Error, WriteLockTimeout):
        log.warning("cache flag not updated (the next sync brings it): %s", sql, exc_info=True)
        return False
    return True


def set_premise_booked(
    conn: duckdb.DuckDBPyConnection, premise_id: int, booked: bool, *, lock: WriteLock | None
) -> bool:
    return _cache_write(conn, "UPDATE premises SET is_booked = ? WHERE id = ?", [booked, premise_id], lock)


def set_slot_booked(
    conn: duckdb.DuckDBPyConnection, slot_id: int, booked: bool, *, lock: WriteLock | None
) -> bool:
    return _cache_write(conn, "UPDATE time_slots SET is_booked = ? WHERE id = ?", [booked, slot_id], lock)


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
