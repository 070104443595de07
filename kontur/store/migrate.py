"""Bringing the store's schema to the newest Alembic revision, at every open.

From empty or from any earlier revision; a second run does nothing. Safe when several processes open
one database at once (replicas starting together): the upgrade runs in one transaction that first
takes a migration lock - `pg_advisory_xact_lock` on PostgreSQL, `BEGIN IMMEDIATE` (the write lock) on
SQLite - so the others wait, then find the schema current and do nothing. Both backends have
transactional DDL, so a failed migration leaves the schema as it was.
"""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from .engine import BEGIN_MODE

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any constant shared by every Kontur process; "kontur" in ASCII, so it is recognisable in pg_locks.
MIGRATION_LOCK_KEY = 0x6B6F6E747572


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the store has no migrations"
    return head


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> bool:
    """Migrate to head; True when this call changed the schema (False: it was current already)."""
    head = head_revision()
    with engine.connect() as conn:
        # Cheap check without the lock: the common case (already current) never waits on other openers.
        if current_revision(conn) == head:
            conn.rollback()
            return False
        conn.rollback()
    with engine.connect().execution_options(**{BEGIN_MODE: "IMMEDIATE"}) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        before = current_revision(conn)
        if before == head:
            return False
        command.upgrade(alembic_config(conn), "head")
    log.info("operational store migrated from %s to %s", before or "empty", head)
    return True
