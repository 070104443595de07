"""Numbered migrations of the cache file: each applied once, in order, in its own transaction.

Append only; never edit an applied one (a file written by an older version migrates forward).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import duckdb

from . import ddl
from .transaction import transaction

logger = logging.getLogger("kontur.cache")


def _migration_1(con: duckdb.DuckDBPyConnection) -> None:
    for statement in (*ddl.inbound_ddl(), *ddl.local_ddl(), *ddl.BOOKKEEPING_DDL):
        con.execute(statement)


def _migration_2(con: duckdb.DuckDBPyConnection) -> None:
    # The acting user's id as a column (the history page filters by it: an agent sees their agency's
    # actions only). Earlier rows carry it at the end of `actor`, "Name (#id)": copy it over.
    con.execute("ALTER TABLE actions ADD COLUMN IF NOT EXISTS actor_id BIGINT")
    con.execute(
        "UPDATE actions SET actor_id = TRY_CAST(regexp_extract(actor, '[(]#([0-9]+)[)]$', 1) AS BIGINT)"
        " WHERE actor_id IS NULL"
    )


def _migration_3(con: duckdb.DuckDBPyConnection) -> None:
    # IF NOT EXISTS: caches written by the first Kafka consumer created this table on their own.
    con.execute(ddl.KAFKA_OFFSETS_DDL)


def _migration_4(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(ddl.RUN_TRIGGER_DDL)
    for statement in (*ddl.RUN_NOTE_DDL, *ddl.CONSUMER_RESTARTS_DDL):
        con.execute(statement)


def _migration_5(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(ddl.directory_mirror_ddl())


# Ordered migrations: (version, what it does, how).
MIGRATIONS: tuple[tuple[int, str, Callable[[duckdb.DuckDBPyConnection], None]], ...] = (
    (1, "inbound, local, sync bookkeeping and audit tables", _migration_1),
    (2, "actions.actor_id: the acting user's id", _migration_2),
    (3, "kafka_offsets: Kafka progress per consumer group and partition", _migration_3),
    (4, "sync_runs.trigger and notes, consumer_restarts: the unattended schedule", _migration_4),
    (5, "directory_mirror: the users directory's read-only mirror for analytics joins", _migration_5),
)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(con: duckdb.DuckDBPyConnection, *, label: str = "cache") -> None:
    """Bring the file on `con` to the latest version (the caller holds the file read-write)."""
    con.execute(ddl.SCHEMA_VERSION_DDL)
    current = schema_version(con)
    for version, description, apply in MIGRATIONS:
        if version <= current:
            continue
        with transaction(con, new_cursor=False):
            apply(con)
            con.execute("INSERT INTO schema_version VALUES (?, ?, current_timestamp)", [version, description])
        logger.info("%s migrated to schema version %d", label, version)


def retired_rows(con: duckdb.DuckDBPyConnection) -> int:
    """Rows the tables of the older layout (`ddl.RETIRED_TABLES`: the local records, the directory,
    the audit) still hold; 0 when they are gone."""
    present = {
        row[0]
        for row in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
    }
    total = 0
    for table in ddl.RETIRED_TABLES:
        if table in present:
            found = con.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - our constant
            total += int(found[0]) if found else 0
    return total


def retire_local_tables(cur: duckdb.DuckDBPyConnection) -> None:
    """Drop the tables Kontur's operational store replaced, inside the caller's transaction
    (`Cache.transaction()`). Only for a caller that knows it is safe: the store recorded a completed
    move of this file (`kontur.store.legacy`), or they hold nothing. Not a numbered migration for that
    reason: whether it may run depends on the store, not on the file."""
    for table in ddl.RETIRED_TABLES:
        cur.execute(f"DROP TABLE IF EXISTS {table}")  # identifiers from our own constant
    cur.execute("DROP SEQUENCE IF EXISTS action_id")
