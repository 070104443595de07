"""Bookings made through Kontur, as Brusnika answered them, and the booking-quota ledger.

Brusnika counts each new booking against the agent's `remaining_user_creation_limit`; Kontur mirrors
that in its users directory. `booking_created` does it once per booking id, whatever happens around
it: the ledger's primary key is the booking id, so when two replicas (or a retry after a crash) record
the same answer at once, the second insert waits for the first transaction and then finds the row -
only the transaction whose ledger row went in decrements.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kontur.models import Booking

from . import _records
from ._records import Stored
from .db import insert, utcnow
from .schema import booking_quota, bookings, users


@dataclass(frozen=True)
class BookingRecorded:
    """What `booking_created` did."""

    new_booking: bool  # the booking was not in the store before this call
    quota_decremented: bool  # this call counted the booking against the agent's limit
    remaining: int | None  # the agent's remaining limit now (None: the agent is not in the directory)


def booking_created(
    conn: Connection, booking: Booking, *, recorded_by: int | None, at: dt.datetime | None = None
) -> BookingRecorded:
    """Record Brusnika's answer to `POST /bookings` and count it against the agent's limit, once.

    A booking already in the store keeps its row (a replayed creation answer, e.g. after an
    idempotent retry, never turns a since-cancelled booking back to `open`). Call it in a `write()`
    transaction; the decrement and the ledger row commit together.
    """
    when = at or utcnow()
    new_ids = _records.save(conn, bookings, [booking], recorded_by=recorded_by, at=when, overwrite=False)
    counted = conn.execute(
        insert(conn, booking_quota)
        .values(booking_id=booking.id, agent_id=booking.agent_id, at=when)
        .on_conflict_do_nothing(index_elements=["booking_id"])
        .returning(booking_quota.c.booking_id)
    ).first()
    remaining_col = users.c.remaining_user_creation_limit
    if counted is None:
        remaining = conn.execute(sa.select(remaining_col).where(users.c.id == booking.agent_id)).scalar()
        return BookingRecorded(bool(new_ids), False, remaining)
    remaining = conn.execute(
        sa.update(users)
        .where(users.c.id == booking.agent_id)
        .values({remaining_col: sa.case((remaining_col > 0, remaining_col - 1), else_=0), "updated_at": when})
        .returning(remaining_col)
    ).scalar()
    if remaining is not None:
        conn.execute(
            sa.update(booking_quota)
            .where(booking_quota.c.booking_id == booking.id)
            .values(remaining_after=remaining)
        )
    return BookingRecorded(bool(new_ids), True, remaining)


def save_bookings(
    conn: Connection, answers: Iterable[Booking], *, recorded_by: int | None, at: dt.datetime | None = None
) -> list[int]:
    """Record later answers about bookings (a cancellation, a status seen again): the newest answer
    replaces the stored one. No quota change. Returns the ids that were new to the store."""
    return _records.save(conn, bookings, answers, recorded_by=recorded_by, at=at)


def get_booking(conn: Connection, booking_id: int) -> Stored[Booking] | None:
    return _records.get(conn, bookings, Booking, booking_id)


def get_bookings(conn: Connection, ids: Collection[int]) -> dict[int, Stored[Booking]]:
    return _records.get_many(conn, bookings, Booking, ids)


def list_bookings(
    conn: Connection,
    *,
    agent_ids: Collection[int] | None,
    status: str | None = None,
    limit: int | None = 200,
    offset: int = 0,
) -> list[Stored[Booking]]:
    """Bookings of these agents (None: everyone's; empty: none), newest recorded first.

    `agent_ids` is `ReadScope.agent_ids` of the reader (`kontur.auth.scopes`)."""
    if agent_ids is not None and not agent_ids:
        return []
    return _records.listed(
        conn,
        bookings,
        Booking,
        where=[
            _records.scoped(bookings.c.agent_id, agent_ids),
            None if status is None else bookings.c.status == status,
        ],
        limit=limit,
        offset=offset,
    )


def quota_entry(conn: Connection, booking_id: int) -> dict | None:
    """The ledger row of a booking (agent, when counted, the agent's limit after), if it was counted."""
    row = conn.execute(sa.select(booking_quota).where(booking_quota.c.booking_id == booking_id)).mappings()
    found = row.first()
    return None if found is None else dict(found)
