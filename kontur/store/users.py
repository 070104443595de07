"""The users directory. Kontur owns it: people are created and edited here (the Users page, `kontur
users add/import`) and pushed to Brusnika with `PUT /users/{id}`; sign-in matches the provider's email
against it on every click, so a user blocked on one replica is refused on the others at once.

Every wire field of `User` is a column (snake_case), plus `email_key` (what sign-in matches), when the
row was created and last changed, by whom, and when Brusnika last accepted it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Connection, RowMapping

from kontur.models import User

from ._records import chunks, dedupe_by_id, model_values
from .db import insert, utcnow
from .schema import users

log = logging.getLogger(__name__)

WIRE_COLUMNS: tuple[str, ...] = (
    "id",
    "last_name",
    "first_name",
    "phone",
    "email",
    "status",
    "role",
    "temporary_role",
    "city_id",
    "birth_date",
    "agency_id",
    "work_start_date",
    "avatar",
    "remaining_user_creation_limit",
)


def email_key(email: str) -> str:
    """How emails compare: trimmed, case-insensitive (as `kontur.auth.identity.normalise_email`)."""
    return email.strip().lower()


@dataclass(frozen=True)
class StoredUser:
    user: User
    created_at: dt.datetime
    updated_at: dt.datetime
    updated_by: str | None  # who made the last change, as display text
    pushed_at: dt.datetime | None  # when Brusnika last accepted this user (None: never pushed)


@dataclass
class UpsertReport:
    """Which ids an upsert created, changed (any wire field differed) and left unchanged."""

    created: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)


def _user(row: RowMapping) -> User | None:
    try:
        return User.model_validate({name: row[name] for name in WIRE_COLUMNS})
    except ValidationError as exc:
        # Only a hand-edited row can get here (every write goes through the model): it can sign no one
        # in and is left out, loudly.
        log.warning("users row #%s does not validate (%d errors); left out", row["id"], exc.error_count())
        return None


def _stored(row: RowMapping) -> StoredUser | None:
    user = _user(row)
    if user is None:
        return None
    return StoredUser(user, row["created_at"], row["updated_at"], row["updated_by"], row["pushed_at"])


def find_by_email(conn: Connection, email: str) -> list[User]:
    """Every user whose email matches (trimmed, case-insensitive), for sign-in: usually one; none or
    several mean the person is refused (`kontur.auth.identity.match_user`). Runs on every click."""
    key = email_key(email)
    if not key:
        return []
    rows = conn.execute(sa.select(users).where(users.c.email_key == key).order_by(users.c.id)).mappings()
    return [user for user in (_user(row) for row in rows) if user is not None]


def get_user(conn: Connection, user_id: int) -> StoredUser | None:
    row = conn.execute(sa.select(users).where(users.c.id == user_id)).mappings().first()
    return None if row is None else _stored(row)


def get_users(conn: Connection, ids: Collection[int]) -> dict[int, StoredUser]:
    """Several users by id in one query (e.g. the agents named in a list of bookings)."""
    if not ids:
        return {}
    rows = conn.execute(sa.select(users).where(users.c.id.in_(sorted(set(ids))))).mappings()
    found = (_stored(row) for row in rows)
    return {s.user.id: s for s in found if s is not None}


def list_users(
    conn: Connection,
    *,
    ids: Collection[int] | None = None,
    agency_id: int | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[StoredUser]:
    """The directory ordered by last name, first name, id; `ids` (None: all; empty: none) is
    `ReadScope.agent_ids` for a scoped Users page, `agency_id` keeps one agency's members."""
    if ids is not None and not ids:
        return []
    query = sa.select(users).order_by(users.c.last_name, users.c.first_name, users.c.id).offset(offset)
    if ids is not None:
        query = query.where(users.c.id.in_(sorted({int(i) for i in ids})))
    if agency_id is not None:
        query = query.where(users.c.agency_id == agency_id)
    if limit is not None:
        query = query.limit(limit)
    found = (_stored(row) for row in conn.execute(query).mappings())
    return [s for s in found if s is not None]


class Person(NamedTuple):
    """A directory entry as a list of choices shows it. Never a decision: whoever is chosen is read
    and validated on their own (`get_user`) before anything is done as or for them."""

    id: int
    name: str  # «Фамилия Имя», as `User.display_name`
    role: str
    status: str
    agency_id: int | None


def people(
    conn: Connection,
    *,
    status: str | None = None,
    roles: Collection[str] | None = None,
    agency_id: int | None = None,
) -> list[Person]:
    """The directory ordered as `list_users` (last name, first name, id), only the columns a choice
    shows and no per-row validation: 31,504 people in tens of milliseconds instead of seconds."""
    query = sa.select(
        users.c.id, users.c.last_name, users.c.first_name, users.c.role, users.c.status, users.c.agency_id
    ).order_by(users.c.last_name, users.c.first_name, users.c.id)
    if status is not None:
        query = query.where(users.c.status == status)
    if roles is not None:
        query = query.where(users.c.role.in_(sorted(roles)))
    if agency_id is not None:
        query = query.where(users.c.agency_id == agency_id)
    return [
        Person(int(r.id), f"{r.last_name} {r.first_name}", r.role, r.status, r.agency_id)
        for r in conn.execute(query)
    ]


def fingerprint(conn: Connection) -> tuple[object, ...]:
    """(count, latest `updated_at`, highest id): changes with every write to the directory (each sets
    `updated_at`), from any replica. One cheap aggregate, for caching what is built from the list."""
    latest = sa.select(sa.func.count(), sa.func.max(users.c.updated_at), sa.func.max(users.c.id))
    return tuple(conn.execute(latest).one())


def next_id(conn: Connection) -> int:
    """One more than the highest id in the directory (1 when empty): the id the Users page suggests
    for a new person. Only a suggestion: creating checks the id is still free."""
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(users.c.id), 0))).scalar_one()) + 1


def count_users(conn: Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one())


def agency_members(conn: Connection, agency_id: int) -> frozenset[int]:
    """Ids of the directory's users in this agency: `members` of `kontur.auth.scopes.read_scope`."""
    rows = conn.execute(sa.select(users.c.id).where(users.c.agency_id == agency_id))
    return frozenset(int(i) for i in rows.scalars())


def upsert_users(
    conn: Connection, people: Iterable[User], *, by: str | None, at: dt.datetime | None = None
) -> UpsertReport:
    """Create or update users by id, in bulk, and say which were created, changed or unchanged.

    `by` is who did it (display text for `updated_by`, e.g. the acting user or "cli: root"). A user
    whose every wire field is as stored is left alone (its `updated_at` does not move). Two replicas
    creating the same id at once end with one row (the later write's values)."""
    batch = dedupe_by_id(people)
    report = UpsertReport()
    if not batch:
        return report
    when = at or utcnow()
    stored = {
        int(row["id"]): row
        for row in conn.execute(sa.select(users).where(users.c.id.in_([u.id for u in batch]))).mappings()
    }
    new_rows, changed_rows = [], []
    for user in batch:
        values = model_values(user, WIRE_COLUMNS)
        values["email_key"] = email_key(user.email)
        row = stored.get(user.id)
        if row is None:
            new_rows.append({**values, "created_at": when, "updated_at": when, "updated_by": by})
            report.created.append(user.id)
        elif any(row[name] != values[name] for name in WIRE_COLUMNS):
            changed_rows.append({**values, "updated_at": when, "updated_by": by})
            report.changed.append(user.id)
        else:
            report.unchanged.append(user.id)
    if new_rows:
        # Created = what our INSERT put in (RETURNING): a row another replica inserted a moment ago
        # is updated with our values instead, and reported as changed.
        add = insert(conn, users).on_conflict_do_nothing(index_elements=["id"]).returning(users.c.id)
        inserted: set[int] = set()
        for part in chunks(new_rows):
            inserted.update(int(i) for i in conn.execute(add, list(part)).scalars())
        raced = [row for row in new_rows if row["id"] not in inserted]
        report.created = [i for i in report.created if i in inserted]
        report.changed = sorted([*report.changed, *(row["id"] for row in raced)])
        changed_rows += [{k: v for k, v in row.items() if k != "created_at"} for row in raced]
    if changed_rows:
        names = (*WIRE_COLUMNS[1:], "email_key", "updated_at", "updated_by")
        stmt = (
            sa.update(users)
            .where(users.c.id == sa.bindparam("b_id"))
            .values({name: sa.bindparam(f"b_{name}") for name in names})
        )
        conn.execute(stmt, [{f"b_{k}": row[k] for k in (*names, "id")} for row in changed_rows])
    return report


def mark_pushed(conn: Connection, user_ids: Collection[int], *, at: dt.datetime | None = None) -> None:
    """Brusnika accepted these users (`PUT /users/{id}` answered 200)."""
    if user_ids:
        conn.execute(
            sa.update(users).where(users.c.id.in_(sorted(set(user_ids)))).values(pushed_at=at or utcnow())
        )
