"""Migrations from empty, at every open, on both backends; several processes opening one database at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from kontur.store import migrate
from kontur.store.db import Store
from kontur.store.engine import StoreConfigError, make_engine
from kontur.store.schema import metadata

REPO = Path(__file__).resolve().parents[2]
TABLES = {
    "selections",
    "selection_items",
    "premise_views",
    "user_marks",
    "users",
    "actions",
    "bookings",
    "visits",
    "clients",
    "agencies",
    "booking_quota",
    "submissions",
    "cache_moves",
    "cache_move_rejects",
}


def test_open_migrates_an_empty_database_to_head(store_url: str) -> None:
    with Store.open(store_url) as store:
        inspector = sa.inspect(store.engine)
        assert TABLES | {"alembic_version"} == set(inspector.get_table_names())
        with store.engine.connect() as conn:
            assert migrate.current_revision(conn) == migrate.head_revision()
        assert store.is_empty()


def test_migrations_build_exactly_what_schema_py_declares(store: Store) -> None:
    """The code reads and writes `schema.py`; the migrations build the database: they must agree."""
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_a_second_open_changes_nothing(store_url: str) -> None:
    with Store.open(store_url):
        pass
    engine = make_engine(store_url)
    try:
        assert migrate.upgrade(engine) is False
        with engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
        assert versions == [migrate.head_revision()]
    finally:
        engine.dispose()


def test_first_upgrade_reports_a_change(store_url: str) -> None:
    engine = make_engine(store_url)
    try:
        assert migrate.upgrade(engine) is True
        assert migrate.upgrade(engine) is False
    finally:
        engine.dispose()


_OPEN_AND_WRITE = """
import sys
from kontur.models import User
from kontur.store.db import Store
from kontur.store import users
store = Store.open(sys.argv[1])
with store.write() as tx:
    users.upsert_users(tx, [User(id=int(sys.argv[2]), lastName="Иванов", firstName="Иван", phone="",
        email=f"u{sys.argv[2]}@kontur.example", status="active", role="AGENT")], by="test")
store.close()
"""


def test_processes_opening_one_empty_database_at_once_all_succeed(store_url: str) -> None:
    """Replicas starting together: each migrates-or-waits, none fails, the schema is built once."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN_AND_WRITE, store_url, str(n)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(1, 5)
    ]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    for proc in procs:
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
    assert [code for code, _ in results] == [0, 0, 0, 0], [err for _, err in results]
    with Store.open(store_url) as store, store.read() as tx:
        ids = tx.execute(sa.text("SELECT id FROM users ORDER BY id")).scalars().all()
        versions = tx.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    assert ids == [1, 2, 3, 4]
    assert versions == [migrate.head_revision()]


def test_sqlite_pragmas_are_set(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'a' / 'ops.sqlite'}") as store, store.read() as tx:
        assert tx.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert tx.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert tx.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000


@pytest.mark.parametrize(
    ("url", "wanted"),
    [
        ("sqlite://", "SQLite file"),
        ("sqlite:///:memory:", "SQLite file"),
        ("mysql://u:hunter2@db/kontur", "sqlite and postgresql"),
        ("not a url", "not a valid database URL"),
    ],
)
def test_unusable_urls_are_refused_without_echoing_a_password(url: str, wanted: str) -> None:
    with pytest.raises(StoreConfigError) as caught:
        make_engine(url)
    assert wanted in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_repr_hides_the_password(pg_url: str) -> None:
    url = sa.make_url(pg_url).set(password="hunter2")
    store = Store(make_engine(url))
    try:
        assert "hunter2" not in repr(store)
        assert "***" in repr(store)
    finally:
        store.close()
