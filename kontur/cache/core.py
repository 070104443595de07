"""The DuckDB cache file: opening it read-write, the write lock, transactions, cursors.

One process writes the file (DuckDB allows one read-write process per file): the dashboard, or a CLI
`kontur sync` when no dashboard holds it. `Cache` owns that process's single read-write connection;
readers take `cache.reader()` (a cursor: its own connection to the same database, usable from another
thread) and, thanks to MVCC, see the last committed state while a sync writes. A cursor is a context
manager: `with cache.reader() as cur:` closes it at the end of the block.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType

import duckdb

from . import runs
from .migrations import migrate, schema_version
from .runs import EntityState
from .transaction import transaction

DEFAULT_MEMORY_LIMIT = "1GB"


class CacheLockedError(RuntimeError):
    """The cache file is held read-write by another process."""


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
        # One lock for everything that changes cache tables (sync commit, Kafka batches, form writes),
        # so two in-process writers never race into a transaction conflict.
        self.write_lock = threading.RLock()
        self._closed = False
        migrate(self._con, label=f"cache {self.path}")
        self._recover()

    # --- connections -----------------------------------------------------------------------------
    def reader(self) -> duckdb.DuckDBPyConnection:
        """A new cursor for one thread's queries; sees the last committed state. Close it when done
        (`with cache.reader() as cur:`)."""
        return self._con.cursor()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor for writing (load path, forms). Same as `reader()`; named for intent."""
        return self._con.cursor()

    @contextmanager
    def transaction(
        self, cur: duckdb.DuckDBPyConnection | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """`with cache.transaction() as cur:` runs the block in ONE transaction under `write_lock`,
        on a new cursor (closed afterwards) or on `cur` (e.g. a Staging's, which owns the temp tables
        the work reads). Commits when the block ends; rolls back and re-raises when it raises."""
        if cur is None:
            with transaction(self._con, lock=self.write_lock) as own:
                yield own
        else:
            with transaction(cur, lock=self.write_lock, new_cursor=False) as given:
                yield given

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
        with self.reader() as cur:
            return schema_version(cur)

    def _recover(self) -> None:
        """We hold the file read-write, so no other process is running a sync on it: any run still
        'running' died with its process. Its staging lived in temp tables (gone with it) and files."""
        with self.cursor() as cur:
            runs.mark_interrupted(cur)
        shutil.rmtree(self.staging_dir, ignore_errors=True)

    # --- runs and state (kontur.cache.runs on a cursor of their own) ------------------------------
    def start_run(self, transport: str, mode: str, *, trigger: str | None = None) -> int:
        with self.cursor() as cur:
            return runs.start_run(cur, transport, mode, trigger=trigger)

    def fail_run(self, run_id: int, error: str) -> None:
        with self.cursor() as cur:
            runs.fail_run(cur, run_id, error)

    def entity_states(self) -> dict[str, EntityState]:
        with self.reader() as cur:
            return runs.entity_states(cur)

    def run(self, run_id: int) -> dict[str, object] | None:
        """One sync_runs row as a dict (for the dashboard and tests)."""
        with self.reader() as cur:
            return runs.run_row(cur, run_id)

    def last_success(self, *, transport: str, mode: str) -> datetime | None:
        with self.reader() as cur:
            return runs.last_success(cur, transport=transport, mode=mode)
