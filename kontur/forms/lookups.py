"""The reads the form pages need: Brusnika's lists from the cache (parameterised, each on its own cursor
of the shared connection: Streamlit runs sessions in threads), Kontur's own records from the
operational store (each in its own read transaction), and the lists that join the two (a booking with
its premise's number and address): records from the store, labels from the cache by id, put together
here so pages stay layout only."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
from sqlalchemy.engine import Connection

from kontur.auth.scopes import ReadScope
from kontur.models import Client
from kontur.store import agencies as store_agencies
from kontur.store import bookings as store_bookings
from kontur.store import clients as store_clients
from kontur.store import users as store_users
from kontur.store import visits as store_visits
from kontur.store.clients import Stored
from kontur.store.db import Store


def _rows(conn: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict]:
    cur = conn.cursor()
    try:
        rel = cur.execute(sql, params or [])
        names = [d[0] for d in rel.description]
        return [dict(zip(names, row, strict=True)) for row in rel.fetchall()]
    finally:
        cur.close()


def cities(conn: duckdb.DuckDBPyConnection) -> list[dict]:
    return _rows(conn, "SELECT id, name FROM cities ORDER BY name, id")


def projects(conn: duckdb.DuckDBPyConnection, city_id: int | None = None) -> list[dict]:
    return _rows(
        conn,
        "SELECT id, name, city_id FROM projects WHERE (? IS NULL OR city_id = ?) ORDER BY name, id",
        [city_id, city_id],
    )


def buildings(conn: duckdb.DuckDBPyConnection, project_id: int) -> list[dict]:
    return _rows(
        conn, "SELECT id, address FROM buildings WHERE project_id = ? ORDER BY address, id", [project_id]
    )


def free_premises(conn: duckdb.DuckDBPyConnection, building_id: int) -> list[dict]:
    """Premises of a building that can be booked: neither booked nor sold."""
    return _rows(
        conn,
        "SELECT id, number, type, rooms, size, price, floor, purchase_option FROM premises"
        " WHERE building_id = ? AND NOT coalesce(is_booked, false) AND NOT coalesce(is_sold, false)"
        " ORDER BY floor, number, id",
        [building_id],
    )


def premise(conn: duckdb.DuckDBPyConnection, premise_id: int) -> dict | None:
    """One premise with the ids above it, to preselect city/project/building (chessboard hand-off)."""
    rows = _rows(
        conn,
        "SELECT p.id, p.number, p.type, p.rooms, p.size, p.price, p.floor, p.is_booked, p.is_sold,"
        " p.purchase_option, p.building_id, p.project_id, pr.city_id, b.address, pr.name AS project_name"
        " FROM premises p LEFT JOIN buildings b ON b.id = p.building_id"
        " LEFT JOIN projects pr ON pr.id = p.project_id WHERE p.id = ?",
        [premise_id],
    )
    return rows[0] if rows else None


def project_slots(
    conn: duckdb.DuckDBPyConnection, project_id: int, *, since: dt.date, days: int = 14
) -> list[dict]:
    """The project's slots from `since` on, booked and free (the calendar shows both)."""
    return _rows(
        conn,
        "SELECT id, date, time, duration_minutes, is_booked FROM time_slots"
        " WHERE project_id = ? AND date >= ? AND date < ? ORDER BY date, time, id",
        [project_id, since, since + dt.timedelta(days=days)],
    )


def premise_label(row: dict) -> str:
    rooms = row.get("rooms")
    kind = {"apartment": "кв.", "storeroom": "кладовая", "parking": "м/м", "commercial": "коммерция"}.get(
        str(row.get("type")), str(row.get("type"))
    )
    rooms_text = (" студия" if rooms == 0 else f" {rooms}-комн.") if row.get("type") == "apartment" else ""
    price = row.get("price")
    price_text = f", {price:,.0f} ₽".replace(",", " ") if price is not None else ""
    where = f"этаж {row.get('floor')}"
    return f"№{row.get('number')} · {kind}{rooms_text} · {row.get('size')} м² · {where}{price_text}"


def _by_id(conn: duckdb.DuckDBPyConnection, sql: str, ids: set[int]) -> dict[int, dict]:
    """Cache rows of these ids (the query's one parameter is the id list), keyed by id."""
    if not ids:
        return {}
    return {int(row["id"]): row for row in _rows(conn, sql, [sorted(ids)])}


# Labels from the cache, by the ids Kontur's records name (identifiers ours, the ids a parameter).
_PREMISE_LABELS = (
    "SELECT p.id, p.number AS premise_number, bl.address, pr.name AS project_name,"
    " p.is_booked AS premise_is_booked FROM premises p LEFT JOIN buildings bl ON bl.id = p.building_id"
    " LEFT JOIN projects pr ON pr.id = p.project_id WHERE list_contains(?::BIGINT[], p.id)"
)
_PROJECT_LABELS = "SELECT id, name AS project_name FROM projects WHERE list_contains(?::BIGINT[], id)"
_SLOT_LABELS = "SELECT id, is_booked AS slot_is_booked FROM time_slots WHERE list_contains(?::BIGINT[], id)"


def _client_row(stored: Stored[Client]) -> dict:
    client = stored.record
    return {
        "id": client.id,
        "fullname": client.fullname,
        "phone_number": client.phone_number,
        "agent_id": client.agent_id,
        "fixing_type": str(client.fixing_type),
        "expiration_date": client.expiration_date,
    }


def local_clients(store: Store, scope: ReadScope, query: str = "", *, limit: int = 200) -> list[dict]:
    """Clients known to Kontur (created or found through it, on any replica) whose agent `scope`
    allows, matched by name or phone digits: the client pickers of the booking and visit forms."""
    if scope.nothing:
        return []
    with store.read() as tx:
        found = store_clients.list_clients(tx, agent_ids=scope.agent_ids, query=query, limit=limit)
    return [_client_row(stored) for stored in found]


def client(store: Store, client_id: int) -> dict | None:
    """One client as Kontur holds it, with Brusnika's fixing decision (None: never seen here)."""
    with store.read() as tx:
        found = store_clients.get_client(tx, client_id)
    return None if found is None else _client_row(found)


def _people(tx: Connection, agent_ids: set[int], client_ids: set[int]) -> tuple[dict, dict]:
    """The agents (name, agency) and clients (name) a list of records names, from the store."""
    agents = store_users.get_users(tx, agent_ids)
    named = store_clients.get_clients(tx, client_ids)
    return (
        {i: (s.user.display_name, s.user.agency_id) for i, s in agents.items()},
        {i: s.record.fullname for i, s in named.items()},
    )


def bookings_here(
    store: Store, conn: duckdb.DuckDBPyConnection, scope: ReadScope, *, limit: int = 200
) -> list[dict]:
    """Bookings made through Kontur (on any replica) whose agent `scope` allows, newest first, with
    what a manager recognises them by: the records from the store, the premise's number, building
    and project from the cache by id (absent labels stay None: the cache may be new or partial)."""
    if scope.nothing:
        return []
    with store.read() as tx:
        found = store_bookings.list_bookings(tx, agent_ids=scope.agent_ids, limit=limit)
        agents, names = _people(tx, {s.record.agent_id for s in found}, {s.record.client_id for s in found})
    labels = _by_id(conn, _PREMISE_LABELS, {s.record.premise_id for s in found})
    rows = []
    for stored in found:
        booking = stored.record
        label = labels.get(booking.premise_id, {})
        agent_name, agency = agents.get(booking.agent_id, (None, None))
        rows.append(
            {
                "id": booking.id,
                "premise_id": booking.premise_id,
                "premise_number": label.get("premise_number"),
                "address": label.get("address"),
                "project_name": label.get("project_name"),
                "premise_is_booked": label.get("premise_is_booked"),
                "client_id": booking.client_id,
                "client_name": names.get(booking.client_id),
                "agent_id": booking.agent_id,
                "agent_name": agent_name,
                "agent_agency_id": agency,
                "recorded_by": stored.recorded_by,
                "date": booking.date,
                "time": booking.time,
                "purchase_option": str(booking.purchase_option),
                "status": str(booking.status),
            }
        )
    return rows


def visits_here(
    store: Store, conn: duckdb.DuckDBPyConnection, scope: ReadScope, *, limit: int = 200
) -> list[dict]:
    """Visits made through Kontur whose agent `scope` allows, newest first, with the project's name
    and the slot's state from the cache by id."""
    if scope.nothing:
        return []
    with store.read() as tx:
        found = store_visits.list_visits(tx, agent_ids=scope.agent_ids, limit=limit)
        agents, names = _people(tx, {s.record.agent_id for s in found}, {s.record.client_id for s in found})
    projects = _by_id(conn, _PROJECT_LABELS, {s.record.project_id for s in found})
    slots = _by_id(conn, _SLOT_LABELS, {s.record.time_slot_id for s in found if s.record.time_slot_id})
    rows = []
    for stored in found:
        visit = stored.record
        agent_name, agency = agents.get(visit.agent_id, (None, None))
        rows.append(
            {
                "id": visit.id,
                "project_id": visit.project_id,
                "project_name": projects.get(visit.project_id, {}).get("project_name"),
                "client_id": visit.client_id,
                "client_name": names.get(visit.client_id),
                "agent_id": visit.agent_id,
                "agent_name": agent_name,
                "agent_agency_id": agency,
                "recorded_by": stored.recorded_by,
                "date": visit.date,
                "time": visit.time,
                "time_slot_id": visit.time_slot_id,
                "slot_is_booked": slots.get(visit.time_slot_id or 0, {}).get("slot_is_booked"),
                "status": str(visit.status),
            }
        )
    return rows


def agencies_here(store: Store, *, limit: int = 200) -> list[dict]:
    """Agencies registered or found through Kontur, newest first."""
    with store.read() as tx:
        found = store_agencies.list_agencies(tx, limit=limit)
    return [
        {
            "id": a.record.id,
            "title": a.record.title,
            "legal_name": a.record.legal_name,
            "inn": a.record.inn,
            "city_id": a.record.city_id,
            "phone": a.record.phone,
            "email": a.record.email,
            "owner_full_name": a.record.owner_full_name,
        }
        for a in found
    ]
