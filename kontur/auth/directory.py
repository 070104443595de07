"""Reading the local users directory (the cache's `users` table) for sign-in."""

from __future__ import annotations

import duckdb

from kontur.models import User

from .identity import directory_from_records
from .policy import Resource

_COLUMNS = (
    "id, last_name, first_name, phone, email, status, role, temporary_role, city_id, birth_date,"
    " agency_id, work_start_date, avatar, remaining_user_creation_limit"
)


def users_with_email(conn: duckdb.DuckDBPyConnection, email: str) -> list[User]:
    """Every directory entry whose email matches (trimmed, case-insensitive); usually one.

    Runs on every rerun of a signed-in page, so a user blocked mid-session loses access at their next
    click. Rows that do not validate as users are left out: they cannot sign anyone in.
    """
    cur = conn.cursor()
    try:
        exists = cur.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'users'"
        ).fetchone()
        if not exists or not exists[0]:
            return []
        rel = cur.execute(
            f"SELECT {_COLUMNS} FROM users WHERE lower(trim(email)) = ?",  # noqa: S608 - constant columns
            [email.strip().lower()],
        )
        names = [d[0] for d in rel.description]
        rows = [dict(zip(names, row, strict=True)) for row in rel.fetchall()]
    finally:
        cur.close()
    users, _problems = directory_from_records(rows)
    return users


def user_agency(conn: duckdb.DuckDBPyConnection, user_id: int | None) -> int | None:
    """The agency of a directory user (the owner of a booking, visit or client), for policy scopes."""
    return _owner(conn, "SELECT agency_id FROM users WHERE id = ?", user_id)


def _owner(conn: duckdb.DuckDBPyConnection, sql: str, record_id: int | None) -> int | None:
    if record_id is None:
        return None
    cur = conn.cursor()
    try:
        row = cur.execute(sql, [record_id]).fetchone()
    except duckdb.CatalogException:
        return None
    finally:
        cur.close()
    return None if row is None or row[0] is None else int(row[0])


def agent_resource(conn: duckdb.DuckDBPyConnection, agent_id: int | None) -> Resource:
    """A record owned by this agent: its scope is the agent and their agency."""
    return Resource(agent_id=agent_id, agency_id=user_agency(conn, agent_id))


def client_resource(conn: duckdb.DuckDBPyConnection, client_id: int | None) -> Resource:
    """Acting for a client: the client belongs to the agent it is fixed to (local `clients`)."""
    return agent_resource(conn, _owner(conn, "SELECT agent_id FROM clients WHERE id = ?", client_id))


def booking_resource(conn: duckdb.DuckDBPyConnection, booking_id: int) -> Resource:
    return agent_resource(conn, _owner(conn, "SELECT agent_id FROM bookings WHERE id = ?", booking_id))


def visit_resource(conn: duckdb.DuckDBPyConnection, visit_id: int) -> Resource:
    return agent_resource(conn, _owner(conn, "SELECT agent_id FROM visits WHERE id = ?", visit_id))
