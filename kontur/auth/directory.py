"""Reading the local users directory (the cache's `users` table): who signs in, who acts, who belongs
to which agency, and whose a booking, visit or client is.

Every read of the directory goes through here, so the operational store (issue 13) can take the
table over by replacing these functions. Writes stay with the forms (`kontur.forms.local`).
"""

from __future__ import annotations

from typing import Any

import duckdb

from kontur.models import User

from .actor import Actor
from .identity import directory_from_records
from .policy import Action, Resource
from .scopes import ReadScope, read_scope

_COLUMNS = (
    "id, last_name, first_name, phone, email, status, role, temporary_role, city_id, birth_date,"
    " agency_id, work_start_date, avatar, remaining_user_creation_limit"
)
# The directory by wire names, as the pages and the picker read it.
_WIRE_COLUMNS = (
    'id, last_name AS "lastName", first_name AS "firstName", phone, email, status, role,'
    " temporary_role, city_id, agency_id, remaining_user_creation_limit"
)


def _rows(conn: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    """Rows as dicts on a cursor of their own; an absent `users` table (a cache never seeded) reads
    as an empty directory."""
    cur = conn.cursor()
    try:
        rel = cur.execute(sql, params)
        names = [d[0] for d in rel.description]
        return [dict(zip(names, row, strict=True)) for row in rel.fetchall()]
    except duckdb.CatalogException:
        return []
    finally:
        cur.close()


def users_with_email(conn: duckdb.DuckDBPyConnection, email: str) -> list[User]:
    """Every directory entry whose email matches (trimmed, case-insensitive); usually one.

    Runs on every rerun of a signed-in page, so a user blocked mid-session loses access at their next
    click. Rows that do not validate as users are left out: they cannot sign anyone in.
    """
    rows = _rows(
        conn,
        f"SELECT {_COLUMNS} FROM users WHERE lower(trim(email)) = ?",  # noqa: S608 - constant columns
        [email.strip().lower()],
    )
    users, _problems = directory_from_records(rows)
    return users


def agency_members(conn: duckdb.DuckDBPyConnection, agency_id: int) -> list[int]:
    """The ids of the directory's users of one agency: the `members` of `scopes.read_scope`."""
    rows = _rows(conn, "SELECT id FROM users WHERE agency_id = ? ORDER BY id", [agency_id])
    return [int(row["id"]) for row in rows]


def scope_for(conn: duckdb.DuckDBPyConnection, actor: Actor | None, action: Action | str) -> ReadScope:
    """`read_scope` with this directory's agency membership: whose records `actor` may read."""
    return read_scope(actor, action, lambda agency_id: agency_members(conn, agency_id))


def users(conn: duckdb.DuckDBPyConnection, scope: ReadScope | None = None) -> list[dict[str, Any]]:
    """The directory by wire names, ordered by name; with `scope`, only the entries it allows (the
    Users page shows a head of agency their agency's people only)."""
    where, params = (scope or ReadScope.everyone()).predicate("id")
    return _rows(
        conn,
        f"SELECT {_WIRE_COLUMNS} FROM users WHERE {where}"  # noqa: S608 - constant text, parameters
        " ORDER BY last_name, first_name, id",
        params,
    )


def user(conn: duckdb.DuckDBPyConnection, user_id: int) -> dict[str, Any] | None:
    rows = _rows(conn, f"SELECT {_WIRE_COLUMNS} FROM users WHERE id = ?", [user_id])  # noqa: S608
    return rows[0] if rows else None


def stored_user(conn: duckdb.DuckDBPyConnection, user_id: int) -> User | None:
    """One directory entry as it is stored now, every field: what a change is checked against."""
    rows = _rows(conn, f"SELECT {_COLUMNS} FROM users WHERE id = ?", [user_id])  # noqa: S608
    found, _problems = directory_from_records(rows)
    return found[0] if found else None


def acting_user(conn: duckdb.DuckDBPyConnection, user_id: int | None) -> Actor | None:
    """The directory's entry for a picked user id, as an `Actor` (None when not in the directory)."""
    row = None if user_id is None else user(conn, user_id)
    return None if row is None else Actor.from_row(row)


def user_agency(conn: duckdb.DuckDBPyConnection, user_id: int | None) -> int | None:
    """The agency of a directory user (the owner of a booking, visit or client), for policy scopes."""
    return _owner(conn, "SELECT agency_id FROM users WHERE id = ?", user_id)


def _owner(conn: duckdb.DuckDBPyConnection, sql: str, record_id: int | None) -> int | None:
    if record_id is None:
        return None
    rows = _rows(conn, sql, [record_id])
    value = next(iter(rows[0].values())) if rows else None
    return None if value is None else int(value)


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
