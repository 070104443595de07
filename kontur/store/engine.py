"""The SQLAlchemy engine of the operational store, for the two backends it supports.

- **SQLite** (the default, `sqlite:///data/kontur-ops.sqlite`): one file, nothing to install. WAL so
  readers never wait for a writer; foreign keys on; a busy timeout so a second process waits for the
  write lock instead of failing at once. pysqlite's own transaction handling is switched off and
  SQLAlchemy emits `BEGIN` itself (the documented recipe): otherwise SELECTs run outside any
  transaction and DDL autocommits. Write transactions begin `IMMEDIATE`, taking the write lock up
  front: a deferred transaction that reads and then writes can fail at once with "database is locked"
  when another writer got there first (the busy timeout does not apply to that upgrade).
- **PostgreSQL** (`postgresql+psycopg://…`): what replicas share. READ COMMITTED; the statements that
  must be atomic across replicas are written so (single-statement upserts, `ON CONFLICT`).

The URL may hold a password: it is never logged, and errors name the backend and host only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Execution option naming how a transaction begins on SQLite (ignored by PostgreSQL).
BEGIN_MODE = "kontur_sqlite_begin"


class StoreConfigError(ValueError):
    """The database URL is not one the store can use (message never includes the URL's password)."""


def describe_url(url: str | URL) -> str:
    """The URL for messages and logs: backend, host, port and database, never the password."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.render_as_string(hide_password=True)


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for `url` with the store's settings. SQLite files get their directory created."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except sa.exc.ArgumentError:
        raise StoreConfigError("KONTUR_DATABASE_URL is not a valid database URL") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed, **kwargs)
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
        # pre_ping: a replica outlives database restarts and failovers without a dead pooled connection
        # failing the next click.
        return sa.create_engine(parsed, pool_pre_ping=True, **kwargs)
    raise StoreConfigError(
        f"the operational store supports sqlite and postgresql, not {backend!r} ({describe_url(parsed)})"
    )


def _sqlite_engine(url: URL, **kwargs: Any) -> Engine:
    database = url.database
    if not database or database == ":memory:" or url.query.get("mode") == "memory":
        # Each pooled connection would get its own empty database: never what a store wants.
        raise StoreConfigError("the operational store needs a SQLite file, not an in-memory database")
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN (below), not pysqlite
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; safe with WAL
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        finally:
            cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(BEGIN_MODE, "DEFERRED")
        if mode not in ("DEFERRED", "IMMEDIATE"):
            raise ValueError(f"unknown SQLite begin mode {mode!r}")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine
