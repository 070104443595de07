"""A lead's drill-down: the lead with its project and premise (card data and place on the chessboard:
building, section, floor), and a client's other leads, all in the reader's `view_leads` scope.

The client's name, phone and fixing are Kontur's records (the operational store), joined by the caller:
Brusnika's lead list carries only `client_id`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ._db import Conn, frame, has_table
from .filters import RowScope


@dataclass(frozen=True)
class PremisePlace:
    id: int
    number: str | None
    type: str | None
    rooms: int | None
    size: float | None
    price: int | None
    floor: int | None
    status: str
    photos: list[str]
    purchase_option: list[str]
    feature: list[str]
    project_id: int | None
    building_id: int | None
    address: str | None
    number_of_floors: int | None
    section_id: int | None
    section_number: int | None
    section_name: str | None
    city_id: int | None


@dataclass(frozen=True)
class LeadDetail:
    id: int
    client_id: int
    project_id: int | None
    project: str | None
    city: str | None
    end_date: dt.date | None
    premise_id: int | None
    state: str
    current_status: str
    sign_nps_passed: bool | None
    fee: float | None
    start_date: dt.date | None
    status_updated_at: dt.datetime | None
    agent_id: int
    manager_id: int | None
    premise: PremisePlace | None  # None: no premise chosen yet, or it is no longer in the cache


def _scoped(scope: RowScope, column: str) -> tuple[str, list[Any]]:
    return ("TRUE", []) if scope.everything else scope.predicate(column)


def premise_place(con: Conn, premise_id: int) -> PremisePlace | None:
    if not has_table(con, "premises"):
        return None
    row = con.execute(
        """
        SELECT p.id, p.number, p.type, p.rooms, p.size, p.price, p.floor,
               CASE WHEN p.is_sold THEN 'sold' WHEN p.is_booked THEN 'booked' ELSE 'free' END,
               p.photos, p.purchase_option, p.feature, p.project_id, p.building_id, b.address,
               b.number_of_floors, p.section_id, s.number, s.name, pr.city_id
        FROM premises p
        LEFT JOIN buildings b ON b.id = p.building_id
        LEFT JOIN sections s ON s.id = p.section_id
        LEFT JOIN projects pr ON pr.id = p.project_id
        WHERE p.id = ?
        """,
        [premise_id],
    ).fetchone()
    if row is None:
        return None
    values = list(row)
    for i in (8, 9, 10):  # lists may come back as None for an empty or missing value
        values[i] = list(values[i] or [])
    return PremisePlace(*values)


def lead(con: Conn, lead_id: int, scope: RowScope) -> LeadDetail | None:
    """The lead when it exists and the reader may see it (None otherwise: the two are not told apart)."""
    if scope.nothing or not has_table(con, "leads"):
        return None
    sql, params = _scoped(scope, "l.agent_id")
    row = con.execute(
        f"""
        SELECT l.id, l.client_id, l.project_id, pr.name, c.name, pr.end_date, l.premise_id, l.state,
               l.current_status, l.sign_nps_passed, l.fee, l.start_date, l.status_updated_at,
               l.agent_id, l.manager_id
        FROM leads l
        LEFT JOIN projects pr ON pr.id = l.project_id
        LEFT JOIN cities c ON c.id = pr.city_id
        WHERE l.id = ? AND {sql}
        """,  # noqa: S608 -- the scope's clause is built from our own column name, values are parameters
        [lead_id, *params],
    ).fetchone()
    if row is None:
        return None
    premise = None if row[6] is None else premise_place(con, int(row[6]))
    return LeadDetail(*row, premise=premise)


def client_leads(con: Conn, client_id: int, scope: RowScope) -> pd.DataFrame:
    """id, project, premise_id, number, current_status, state, start_date, status_updated_at, agent_id:
    the client's leads the reader may see, newest first."""
    columns = ["id", "project", "premise_id", "number", "current_status", "state", "start_date",
               "status_updated_at", "agent_id"]  # fmt: skip
    if scope.nothing or not has_table(con, "leads"):
        return pd.DataFrame(columns=columns)
    sql, params = _scoped(scope, "l.agent_id")
    return frame(
        con,
        f"""
        SELECT l.id, pr.name AS project, l.premise_id, p.number, l.current_status, l.state, l.start_date,
               l.status_updated_at, l.agent_id
        FROM leads l
        LEFT JOIN projects pr ON pr.id = l.project_id
        LEFT JOIN premises p ON p.id = l.premise_id
        WHERE l.client_id = ? AND {sql}
        ORDER BY l.start_date DESC, l.id DESC
        """,  # noqa: S608 -- the scope's clause is built from our own column name, values are parameters
        [client_id, *params],
    )


def recent_leads(con: Conn, scope: RowScope, *, limit: int = 200) -> pd.DataFrame:
    """id, client_id, project, current_status, start_date: the newest leads the reader may see (a picker
    for the drill-down until the deals page links each lead)."""
    if scope.nothing or not has_table(con, "leads"):
        return pd.DataFrame(columns=["id", "client_id", "project", "current_status", "start_date"])
    sql, params = _scoped(scope, "l.agent_id")
    return frame(
        con,
        f"""
        SELECT l.id, l.client_id, pr.name AS project, l.current_status, l.start_date
        FROM leads l LEFT JOIN projects pr ON pr.id = l.project_id
        WHERE {sql} ORDER BY l.status_updated_at DESC, l.id DESC LIMIT ?
        """,  # noqa: S608 -- the scope's clause is built from our own column name, values are parameters
        [*params, limit],
    )
