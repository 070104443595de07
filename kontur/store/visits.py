"""Visits (showings) made through Kontur, as Brusnika answered them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable

from sqlalchemy.engine import Connection

from kontur.models import Visit

from . import _records
from ._records import Stored
from .schema import visits


def save_visits(
    conn: Connection, answers: Iterable[Visit], *, recorded_by: int | None, at: dt.datetime | None = None
) -> list[int]:
    """Record Brusnika's answers (a created visit, a cancellation): the newest answer replaces the
    stored one; `recorded_*` stay those of the first. Returns the ids that were new to the store."""
    return _records.save(conn, visits, answers, recorded_by=recorded_by, at=at)


def get_visit(conn: Connection, visit_id: int) -> Stored[Visit] | None:
    return _records.get(conn, visits, Visit, visit_id)


def get_visits(conn: Connection, ids: Collection[int]) -> dict[int, Stored[Visit]]:
    return _records.get_many(conn, visits, Visit, ids)


def list_visits(
    conn: Connection,
    *,
    agent_ids: Collection[int] | None,
    status: str | None = None,
    limit: int | None = 200,
    offset: int = 0,
) -> list[Stored[Visit]]:
    """Visits of these agents (None: everyone's; empty: none), newest recorded first."""
    if agent_ids is not None and not agent_ids:
        return []
    return _records.listed(
        conn,
        visits,
        Visit,
        where=[
            _records.scoped(visits.c.agent_id, agent_ids),
            None if status is None else visits.c.status == status,
        ],
        limit=limit,
        offset=offset,
    )
