"""The DuckDB cache file: opening it, migrating its schema, and the sync-run bookkeeping.

One process writes the file (DuckDB allows one read-write process per file): the dashboard, or a CLI
`kontur sync` when no dashboard holds it. `Cache` owns that process's single read-write connection;
readers take `cache.reader()` (a cursor: its own connection to the same database, usable from another
thread) and, thanks to MVCC, see the last committed state while a sync writes. Loading SQL lives in
`kontur.load`; this module only creates tables and records runs.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType

import duckdb

from kontur.schema import COLUMNS, TABLES

logger = logging.getLogger("kontur.cache")

DEFAULT_MEMORY_LIMIT = "1GB"

# Local tables (outbound records as Brusnika answered them), snake_case of the wire fields, plus when
# we stored them. Written by kontur.forms / kontur.actions.
LOCAL_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "users": (
        ("id", "BIGINT"),
        ("last_name", "VARCHAR"),
        ("first_name", "VARCHAR"),
        ("phone", "VARCHAR"),
        ("email", "VARCHAR"),
        ("status", "VARCHAR"),
        ("role", "VARCHAR"),
        ("temporary_role", "VARCHAR"),
        ("city_id", "BIGINT"),
        ("birth_date", "DATE"),
        ("agency_id", "BIGINT"),
        ("work_start_date", "DATE"),
        ("avatar", "VARCHAR"),
        ("remaining_user_creation_limit", "INTEGER"),
        ("recorded_at", "TIMESTAMPTZ"),
    ),
    "agencies": (
        ("id", "BIGINT"),
        ("title", "VARCHAR"),
        ("city_id", "BIGINT"),
        ("legal_name", "VARCHAR"),
        ("inn", "VARCHAR"),
        ("phone", "VARCHAR"),
        ("email", "VARCHAR"),
        ("owner_full_name", "VARCHAR"),
        ("owner_phone", "VARCHAR"),
        ("recorded_at", "TIMESTAMPTZ"),
    ),
    "clients": (
        ("id", "BIGINT"),
        ("fullname", "VARCHAR"),
        ("phone_number", "VARCHAR"),
        ("comment", "VARCHAR"),
        ("agent_id", "BIGINT"),
        ("actived_date", "TIMESTAMPTZ"),
        ("fixing_type_updated_at", "TIMESTAMPTZ"),
        ("expiration_date", "TIMESTAMPTZ"),
        ("fixing_type", "VARCHAR"),
        ("recorded_at", "TIMESTAMPTZ"),
    ),
    "bookings": (
        ("id", "BIGINT"),
        ("premise_id", "BIGINT"),
        ("client_id", "BIGINT"),
        ("agent_id", "BIGINT"),
        ("date", "DATE"),
        ("time", "VARCHAR"),
        ("purchase_option", "VARCHAR"),
        ("status", "VARCHAR"),
        ("recorded_at", "TIMESTAMPTZ"),
    ),
    "visits": (
        ("id", "BIGINT"),
        ("project_id", "BIGINT"),
        ("agent_id", "BIGINT"),
        ("client_id", "BIGINT"),
        ("date", "DATE"),
        ("time", "VARCHAR"),
        ("time_slot_id", "BIGINT"),
        ("request_date", "TIMESTAMPTZ"),
        ("request_time", "TIMESTAMPTZ"),
        ("status", "VARCHAR"),
        ("recorded_at", "TIMESTAMPTZ"),
    ),
}

# Bookkeeping tables. Small, so a PRIMARY KEY costs nothing here (unlike on the inbound tables, where
# it makes upserts ~10x slower).
_BOOKKEEPING_DDL: tuple[str, ...] = (
    "CREATE SEQUENCE IF NOT EXISTS sync_run_id START 1",
    """CREATE TABLE IF NOT EXISTS sync_runs (
        id BIGINT PRIMARY KEY DEFAULT nextval('sync_run_id'),
        transport VARCHAR NOT NULL,          -- rest | kafka
        mode VARCHAR NOT NULL,               -- full | incremental | mixed
        started_at TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ,
        status VARCHAR NOT NULL,             -- running | succeeded | failed
        loaded BIGINT NOT NULL DEFAULT 0,
        deleted BIGINT NOT NULL DEFAULT 0,
        rejected BIGINT NOT NULL DEFAULT 0,
        error VARCHAR,
        pid INTEGER
    )""",
    """CREATE TABLE IF NOT EXISTS sync_run_entities (
        run_id BIGINT NOT NULL,
        entity VARCHAR NOT NULL,
        mode VARCHAR NOT NULL,
        pages BIGINT NOT NULL DEFAULT 0,
        received BIGINT NOT NULL DEFAULT 0,  -- items seen on the wire (records and tombstones)
        loaded BIGINT NOT NULL DEFAULT 0,    -- rows written (inserted or replaced)
        deleted BIGINT NOT NULL DEFAULT 0,   -- rows removed (tombstones, or gone from the snapshot)
        rejected BIGINT NOT NULL DEFAULT 0,
        high_water TIMESTAMPTZ,
        PRIMARY KEY (run_id, entity)
    )""",
    """CREATE TABLE IF NOT EXISTS sync_state (
        entity VARCHAR PRIMARY KEY,
        high_water TIMESTAMPTZ,              -- the newest updated_at the cache has seen
        last_run_id BIGINT,
        last_success_at TIMESTAMPTZ
    )""",
    "CREATE SEQUENCE IF NOT EXISTS rejected_record_id START 1",
    """CREATE TABLE IF NOT EXISTS rejected_records (
        id BIGINT DEFAULT nextval('rejected_record_id'),
        run_id BIGINT,
        entity VARCHAR NOT NULL,
        source VARCHAR NOT NULL,             -- e.g. 'GET /premises page 12' or 'brusnika.leads/0@1234'
        record_id BIGINT,                    -- the record's id when it could be read
        raw JSON,
        reason VARCHAR NOT NULL,
        "at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
    )""",
    "CREATE SEQUENCE IF NOT EXISTS action_id START 1",
    """CREATE TABLE IF NOT EXISTS actions (
        id BIGINT DEFAULT nextval('action_id'),
        "at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
        actor VARCHAR,
        action VARCHAR NOT NULL,
        request JSON,                        -- the request body, never secrets
        outcome VARCHAR NOT NULL,            -- e.g. ok | conflict | rejected | error
        brusnika_id BIGINT,
        error VARCHAR
    )""",
)


def table_ddl(table: str, columns: Sequence[tuple[str, str]], *, prefix: str = "CREATE TABLE") -> str:
    """DDL from our own constant column tables (identifiers only; never values)."""
    cols = ", ".join(f'"{name}" {sql_type}' for name, sql_type in columns)
    return f"{prefix} {table} ({cols})"


def _migration_1(con: duckdb.DuckDBPyConnection) -> None:
    for entity, table in TABLES.items():
        con.execute(table_ddl(table, COLUMNS[entity], prefix="CREATE TABLE IF NOT EXISTS"))
    for table, columns in LOCAL_TABLES.items():
        con.execute(table_ddl(table, columns, prefix="CREATE TABLE IF NOT EXISTS"))
    for statement in _BOOKKEEPING_DDL:
        con.execute(statement)


def _migration_2(con: duckdb.DuckDBPyConnection) -> None:
    # The acting user's id as a column (the history page filters by it: an agent sees their agency's
    # actions only). Earlier rows carry it at the end of `actor`, "Name (#id)": copy it over.
    con.execute("ALTER TABLE actions ADD COLUMN IF NOT EXISTS actor_id BIGINT")
    con.execute(
        "UPDATE actions SET actor_id = TRY_CAST(regexp_extract(actor, '[(]#([0-9]+)[)]$', 1) AS BIGINT)"
        " WHERE actor_id IS NULL"
    )


# Kafka progress: what the cache has applied per consumer group and partition (written in the same
# transaction as each batch's data, so exact), and the partition's end as last seen (for the lag shown
# on the sync health page). `kontur.kafka.progress` reads and writes it.
KAFKA_OFFSETS_DDL = """CREATE TABLE IF NOT EXISTS kafka_offsets (
    group_id VARCHAR NOT NULL,
    topic VARCHAR NOT NULL,
    "partition" INTEGER NOT NULL,
    next_offset BIGINT NOT NULL,         -- first offset not yet applied to the cache
    high_watermark BIGINT,               -- the partition's end on the broker when last seen
    messages BIGINT NOT NULL DEFAULT 0,  -- messages applied (records, tombstones, rejected), cumulative
    updated_at TIMESTAMPTZ NOT NULL,     -- last batch applied
    watermark_at TIMESTAMPTZ,            -- when high_watermark was seen
    PRIMARY KEY (group_id, topic, "partition")
)"""


def _migration_3(con: duckdb.DuckDBPyConnection) -> None:
    # IF NOT EXISTS: caches written by the first Kafka consumer created this table on their own.
    con.execute(KAFKA_OFFSETS_DDL)


# Ordered migrations: (version, what it does, how). Append only; never edit an applied one.
MIGRATIONS: tuple[tuple[int, str, Callable[[duckdb.DuckDBPyConnection], None]], ...] = (
    (1, "inbound, local, sync bookkeeping and audit tables", _migration_1),
    (2, "actions.actor_id: the acting user's id", _migration_2),
    (3, "kafka_offsets: Kafka progress per consumer group and partition", _migration_3),
)


INTERRUPTED_REST = (
    "interrupted: the process ended before the run finished (killed or crashed); "
    "the cache was left as before the run"
)
INTERRUPTED_KAFKA = (
    "interrupted: the consumer ended without a clean shutdown (killed or crashed); the batches it "
    "committed before that are in the cache (kafka_offsets says how far), the batch in flight was "
    "not applied and is read again by the next session"
)


class CacheLockedError(RuntimeError):
    """The cache file is held read-write by another process."""


@dataclass(frozen=True)
class EntityState:
    entity: str
    high_water: datetime | None
    last_run_id: int | None
    last_success_at: datetime | None


_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


def _lock_message(path: Path, error: Exception) -> str:
    match = _LOCK_HOLDER.search(str(error))
    holder = f"process {match['pid']} ({match['program']})" if match else "another process"
    return (
        f"The cache file {path} is in use by {holder}. DuckDB lets one process write a cache file at "
        "a time: if that is the dashboard, sync from its Sync button (or stop it first); otherwise stop "
        "that process, or point --cache / KONTUR_CACHE_PATH at another file."
    )


class Cache:
    """The DuckDB cache file, opened read-write, migrated, with leftovers of a dead run cleaned up."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        memory_limit: str | None = DEFAULT_MEMORY_LIMIT,
        threads: int | None = None,
    ) -> None:
        if path is None:
            from kontur.config import DEFAULT_CACHE_PATH

            path = DEFAULT_CACHE_PATH
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        config: dict[str, str | int | bool] = {}
        if memory_limit:
            # Bounds DuckDB's buffer pool (staging spills to disk beyond it): keeps a big full sync
            # from growing the dashboard process by the size of the dataset.
            config["memory_limit"] = memory_limit
        if threads:
            config["threads"] = threads
        try:
            self._con = duckdb.connect(str(self.path), config=config)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise CacheLockedError(_lock_message(self.path, exc)) from None
            raise
        # One lock for everything that changes cache tables in bulk (sync commit, Kafka batches), so
        # two in-process writers never race into a transaction conflict.
        self.write_lock = threading.RLock()
        self._closed = False
        self._migrate()
        self._recover()

    # --- connections -----------------------------------------------------------------------------
    def reader(self) -> duckdb.DuckDBPyConnection:
        """A new cursor for one thread's queries; sees the last committed state. Close it when done."""
        return self._con.cursor()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor for writing (load path, forms). Same as `reader()`; named for intent."""
        return self._con.cursor()

    @property
    def staging_dir(self) -> Path:
        """Where a sync writes page batches for DuckDB's `read_json` (next to the cache file)."""
        return self.path.with_name(self.path.name + ".staging")

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._con.close()

    def __enter__(self) -> Cache:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Cache({str(self.path)!r})"

    # --- schema ----------------------------------------------------------------------------------
    def schema_version(self) -> int:
        row = self._con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
        return int(row[0]) if row else 0

    def _migrate(self) -> None:
        con = self._con
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version INTEGER NOT NULL, description VARCHAR, applied_at TIMESTAMPTZ NOT NULL)"
        )
        current = self.schema_version()
        for version, description, apply in MIGRATIONS:
            if version <= current:
                continue
            con.execute("BEGIN TRANSACTION")
            try:
                apply(con)
                con.execute(
                    "INSERT INTO schema_version VALUES (?, ?, current_timestamp)", [version, description]
                )
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            logger.info("cache %s migrated to schema version %d", self.path, version)

    def _recover(self) -> None:
        """We hold the file read-write, so no other process is running a sync on it: any run still
        'running' died with its process. Its staging lived in temp tables (gone with it) and files."""
        # What the cache holds afterwards differs by transport: a REST run applies everything in one
        # transaction at its end, while a Kafka session commits batch by batch.
        self._con.execute(
            "UPDATE sync_runs SET status = 'failed', finished_at = current_timestamp, error = CASE "
            "WHEN transport = 'kafka' THEN ? ELSE ? END WHERE status = 'running'",
            [INTERRUPTED_KAFKA, INTERRUPTED_REST],
        )
        shutil.rmtree(self.staging_dir, ignore_errors=True)

    # --- runs and state --------------------------------------------------------------------------
    def start_run(self, transport: str, mode: str) -> int:
        cur = self._con.cursor()
        try:
            row = cur.execute(
                "INSERT INTO sync_runs (transport, mode, started_at, status, pid) "
                "VALUES (?, ?, current_timestamp, 'running', ?) RETURNING id",
                [transport, mode, os.getpid()],
            ).fetchone()
        finally:
            cur.close()
        assert row is not None
        return int(row[0])

    def fail_run(self, run_id: int, error: str) -> None:
        """Record a failed run (outside any load transaction, which has been rolled back)."""
        cur = self._con.cursor()
        try:
            cur.execute(
                "UPDATE sync_runs SET status = 'failed', finished_at = current_timestamp, error = ? "
                "WHERE id = ?",
                [error[:2000], run_id],
            )
        finally:
            cur.close()

    def entity_states(self) -> dict[str, EntityState]:
        cur = self.reader()
        try:
            rows = cur.execute(
                "SELECT entity, high_water, last_run_id, last_success_at FROM sync_state"
            ).fetchall()
        finally:
            cur.close()
        return {row[0]: EntityState(*row) for row in rows}

    def run(self, run_id: int) -> dict[str, object] | None:
        """One sync_runs row as a dict (for the dashboard and tests)."""
        cur = self.reader()
        try:
            rel = cur.execute("SELECT * FROM sync_runs WHERE id = ?", [run_id])
            names = [d[0] for d in rel.description]
            row = rel.fetchone()
        finally:
            cur.close()
        return dict(zip(names, row, strict=True)) if row else None
