"""Kontur's operational store in the tests that use it beside other things (forms, pages, the app):
opening one per backend, seeding the users directory, and reading what the code under test wrote,
with SQL of the tests' own (not the code's read functions).

`store_backend` is a fixture the folders' conftests define (default SQLite); a module runs on both
backends with `pytestmark = pytest.mark.parametrize("store_backend", BACKENDS, indirect=True)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from kontur.models import User
from kontur.store import schema
from kontur.store import users as store_users
from kontur.store.db import Store
from tests.support.postgres import PostgresServer, start_postgres

BACKENDS = ("sqlite", "postgresql")
SEEDED_BY = "tests: the sandbox's directory"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """The session's one real PostgreSQL server, shared by every folder (a plugin fixture: this module
    is in tests/conftest.py's `pytest_plugins`). Raises, never skips, when PostgreSQL is missing."""
    yield from postgres_fixture()


def postgres_fixture() -> Iterator[PostgresServer]:
    """Body of a session fixture: one real PostgreSQL server (raises, never skips, when missing)."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of the requested backend (`request.param`, default SQLite): a new SQLite file
    under `tmp_path`, or a new database on the session's PostgreSQL (fixture `postgres`)."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'ops.sqlite'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()


def seed(store: Store, rows: Iterable[dict[str, Any]]) -> int:
    """The given directory (e.g. `SandboxAdmin.users()`) into the store, as `kontur users import`
    would: someone must be known before anyone can act or read."""
    people = [User.model_validate(row) for row in rows]
    with store.write() as tx:
        store_users.upsert_users(tx, people, by=SEEDED_BY)
    return len(people)


def seed_url(url: str, rows: Iterable[dict[str, Any]], *, only_if_empty: bool = True) -> None:
    with Store.open(url) as store:
        if only_if_empty and count(store, schema.users) > 0:
            return
        seed(store, rows)


def count(store: Store, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    query = sa.select(sa.func.count()).select_from(table)
    for condition in where:
        query = query.where(condition)
    with store.read() as tx:
        return int(tx.execute(query).scalar_one())


def audit_rows(store: Store, action: str | None = None) -> list[dict[str, Any]]:
    """The audit rows (oldest first), optionally of one action, as plain dicts."""
    actions = schema.actions
    query = sa.select(actions).order_by(actions.c.at, actions.c.id)
    if action is not None:
        query = query.where(actions.c.action == action)
    with store.read() as tx:
        return [dict(row) for row in tx.execute(query).mappings()]


def remaining(store: Store, user_id: int) -> int:
    """The user's booking limit as the store holds it."""
    users = schema.users
    with store.read() as tx:
        value = tx.execute(
            sa.select(users.c.remaining_user_creation_limit).where(users.c.id == user_id)
        ).scalar_one()
    return int(value)


def row(store: Store, table: sa.Table, record_id: int) -> dict[str, Any] | None:
    with store.read() as tx:
        found = tx.execute(sa.select(table).where(table.c.id == record_id)).mappings().first()
    return None if found is None else dict(found)
