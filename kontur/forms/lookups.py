"""The reads the form pages need from the cache, parameterised. Each opens its own cursor of the shared
connection (Streamlit runs sessions in threads; a cursor per read keeps them apart)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from kontur.auth.scopes import ReadScope


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


# Query heads; the scope's predicate (our own text, its values parameters) completes them.
_CLIENTS = "SELECT id, fullname, phone_number, agent_id, fixing_type, expiration_date FROM clients"
_CLIENT_MATCH = (
    "(? = '' OR fullname ILIKE '%' || ? || '%' OR (? <> '' AND phone_number LIKE '%' || ? || '%'))"
)
_BOOKINGS = (
    "SELECT b.id, b.premise_id, p.number AS premise_number, bl.address, pr.name AS project_name,"
    " b.client_id, c.fullname AS client_name, b.agent_id, b.date, b.time, b.purchase_option, b.status,"
    " p.is_booked AS premise_is_booked"
    " FROM bookings b LEFT JOIN premises p ON p.id = b.premise_id"
    " LEFT JOIN buildings bl ON bl.id = p.building_id LEFT JOIN projects pr ON pr.id = p.project_id"
    " LEFT JOIN clients c ON c.id = b.client_id"
)
_VISITS = (
    "SELECT v.id, v.project_id, pr.name AS project_name, v.client_id, c.fullname AS client_name,"
    " v.agent_id, v.date, v.time, v.time_slot_id, v.status, s.is_booked AS slot_is_booked"
    " FROM visits v LEFT JOIN projects pr ON pr.id = v.project_id"
    " LEFT JOIN clients c ON c.id = v.client_id LEFT JOIN time_slots s ON s.id = v.time_slot_id"
)


def local_clients(
    conn: duckdb.DuckDBPyConnection, scope: ReadScope, query: str = "", *, limit: int = 200
) -> list[dict]:
    """Clients known here (created or found through Kontur) whose agent `scope` allows, matched by
    name or phone digits: the client pickers of the booking and visit forms."""
    text = (query or "").strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    # A typed 8… number is stored as +7…: compare on the last ten digits.
    tail = digits[-10:] if len(digits) >= 10 else digits
    where, params = scope.predicate("agent_id")
    sql = f"{_CLIENTS} WHERE {where} AND {_CLIENT_MATCH} ORDER BY recorded_at DESC, id DESC LIMIT ?"
    return _rows(conn, sql, [*params, text, text, tail, tail, limit])


def client(conn: duckdb.DuckDBPyConnection, client_id: int) -> dict | None:
    """One client as stored here, with Brusnika's fixing decision (None: never seen here)."""
    rows = _rows(conn, f"{_CLIENTS} WHERE id = ?", [client_id])
    return rows[0] if rows else None


def bookings_here(conn: duckdb.DuckDBPyConnection, scope: ReadScope, *, limit: int = 200) -> list[dict]:
    """Bookings made through this Kontur whose agent `scope` allows, newest first, with what a
    manager recognises them by."""
    where, params = scope.predicate("b.agent_id")
    sql = f"{_BOOKINGS} WHERE {where} ORDER BY b.recorded_at DESC, b.id DESC LIMIT ?"
    return _rows(conn, sql, [*params, limit])


def visits_here(conn: duckdb.DuckDBPyConnection, scope: ReadScope, *, limit: int = 200) -> list[dict]:
    """Visits made through this Kontur whose agent `scope` allows, newest first."""
    where, params = scope.predicate("v.agent_id")
    sql = f"{_VISITS} WHERE {where} ORDER BY v.recorded_at DESC, v.id DESC LIMIT ?"
    return _rows(conn, sql, [*params, limit])


def agencies_here(conn: duckdb.DuckDBPyConnection, *, limit: int = 200) -> list[dict]:
    return _rows(
        conn,
        "SELECT id, title, legal_name, inn, city_id, phone, email, owner_full_name FROM agencies"
        " ORDER BY recorded_at DESC, id DESC LIMIT ?",
        [limit],
    )
