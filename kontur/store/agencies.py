"""Agencies registered or found through Kontur, as Brusnika answered them.

Agencies belong to no agent (any role that may register one may see them), so lists are not scoped by
agent; `recorded_by` narrows to what given users recorded when a page wants that.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable

from sqlalchemy.engine import Connection

from kontur.models import Agency

from . import _records
from ._records import Stored
from .schema import agencies


def save_agencies(
    conn: Connection, answers: Iterable[Agency], *, recorded_by: int | None, at: dt.datetime | None = None
) -> list[int]:
    """Record agencies Brusnika returned (registered, found by a search, or named by `agency_exists`):
    the newest answer replaces the stored one. Returns the ids that were new to the store."""
    return _records.save(conn, agencies, answers, recorded_by=recorded_by, at=at)


def get_agency(conn: Connection, agency_id: int) -> Stored[Agency] | None:
    return _records.get(conn, agencies, Agency, agency_id)


def get_agencies(conn: Connection, ids: Collection[int]) -> dict[int, Stored[Agency]]:
    return _records.get_many(conn, agencies, Agency, ids)


def find_by_inn(conn: Connection, inn: str) -> list[Stored[Agency]]:
    """Agencies known here with this INN (Brusnika keeps one per INN; answers over time may differ)."""
    return _records.listed(
        conn, agencies, Agency, where=[agencies.c.inn == inn.strip()], limit=None, offset=0
    )


def list_agencies(
    conn: Connection,
    *,
    recorded_by: Collection[int] | None = None,
    limit: int | None = 200,
    offset: int = 0,
) -> list[Stored[Agency]]:
    """Agencies newest recorded first; `recorded_by` (None: all) keeps those recorded by these users."""
    if recorded_by is not None and not recorded_by:
        return []
    return _records.listed(
        conn,
        agencies,
        Agency,
        where=[_records.scoped(agencies.c.recorded_by, recorded_by)],
        limit=limit,
        offset=offset,
    )
