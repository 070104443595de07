"""Clients created or found through Kontur, as Brusnika answered them (with its fixing decision)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable

from sqlalchemy.engine import Connection

from kontur.models import Client

from . import _records
from ._records import Stored
from .schema import clients


def fullname_key(fullname: str) -> str:
    """What name search compares: case-folded (Cyrillic too), spaces collapsed."""
    return " ".join(fullname.split()).casefold()


def save_clients(
    conn: Connection, answers: Iterable[Client], *, recorded_by: int | None, at: dt.datetime | None = None
) -> list[int]:
    """Record clients Brusnika returned (created, or found by a search): the newest answer replaces
    the stored one; `recorded_*` stay those of the first. Returns the ids that were new to the store."""
    return _records.save(
        conn,
        clients,
        answers,
        recorded_by=recorded_by,
        at=at,
        extra=lambda client: {"fullname_key": fullname_key(client.fullname)},  # type: ignore[attr-defined]
    )


def get_client(conn: Connection, client_id: int) -> Stored[Client] | None:
    return _records.get(conn, clients, Client, client_id)


def get_clients(conn: Connection, ids: Collection[int]) -> dict[int, Stored[Client]]:
    return _records.get_many(conn, clients, Client, ids)


def list_clients(
    conn: Connection,
    *,
    agent_ids: Collection[int] | None,
    query: str = "",
    limit: int | None = 200,
    offset: int = 0,
) -> list[Stored[Client]]:
    """Clients of these agents (None: everyone's; empty: none), newest recorded first, optionally
    matching `query`: part of the name (any case), or phone digits (an 8… number matches its +7… form:
    the last ten digits are compared)."""
    if agent_ids is not None and not agent_ids:
        return []
    text = (query or "").strip()
    match = None
    if text:
        digits = "".join(ch for ch in text if ch.isdigit())
        tail = digits[-10:]
        by_name = clients.c.fullname_key.contains(fullname_key(text), autoescape=True)
        match = by_name | clients.c.phone_number.contains(tail, autoescape=True) if tail else by_name
    return _records.listed(
        conn,
        clients,
        Client,
        where=[_records.scoped(clients.c.agent_id, agent_ids), match],
        limit=limit,
        offset=offset,
    )
