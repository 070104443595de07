"""`Store`: the operational database of one Kontur process (engine + migrated schema), and its
transactions.

Every function of the resource modules (`users`, `audit`, `bookings`, `visits`, `clients`, `agencies`,
`idempotency`) takes a `Connection` inside a transaction the caller opened, so what must change
together does (a booking and its audit row, say)::

    with store.write() as tx:
        result = bookings.booking_created(tx, booking, recorded_by=actor.id)
        audit.record_action(tx, entry)
    with store.read() as tx:
        rows = bookings.list_bookings(tx, agent_ids=scope.agent_ids)

`write()` commits at the end of the block and rolls back on an exception; `read()` always rolls back.
One `Store` per process (the dashboard keeps it in `st.cache_resource`); connections come from its pool.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from . import migrate, schema
from .engine import BEGIN_MODE, describe_url, make_engine

if TYPE_CHECKING:
    from kontur.config import Settings


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Store:
    """Kontur's own records in SQLite or PostgreSQL. Build it with `Store.open(url)` or `open_store`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str, *, migrate_schema: bool = True, **engine_kwargs: Any) -> Store:
        """Connect to `url` and bring its schema to the newest revision (see `kontur.store.migrate`)."""
        store = cls(make_engine(url, **engine_kwargs))
        if migrate_schema:
            try:
                migrate.upgrade(store.engine)
            except BaseException:
                store.close()
                raise
        return store

    @property
    def backend(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A read-write transaction, committed when the block ends without an exception."""
        with self.engine.connect().execution_options(**{BEGIN_MODE: "IMMEDIATE"}) as conn, conn.begin():
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A transaction for reads: one consistent snapshot on SQLite, read committed on PostgreSQL."""
        with self.engine.connect() as conn:
            conn.begin()
            try:
                yield conn
            finally:
                conn.rollback()

    def is_empty(self) -> bool:
        """True when the store holds no users, audit rows or records (nothing moved or written yet)."""
        tables = (
            schema.users,
            schema.actions,
            schema.bookings,
            schema.visits,
            schema.clients,
            schema.agencies,
        )
        with self.read() as tx:
            return all(
                tx.execute(sa.select(sa.literal(1)).select_from(t).limit(1)).first() is None for t in tables
            )

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:  # the URL without its password
        return f"Store({describe_url(self.engine.url)!r})"


def open_store(settings: Settings, **engine_kwargs: Any) -> Store:
    """The store `settings` select: `KONTUR_DATABASE_URL`, else the SQLite file `data/kontur-ops.sqlite`."""
    return Store.open(settings.ops_database_url(), **engine_kwargs)


def insert(conn: Connection, table: sa.Table) -> Any:
    """The backend's INSERT, which has `on_conflict_do_nothing` / `on_conflict_do_update` on both."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
