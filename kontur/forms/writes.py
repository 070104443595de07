"""Every write the forms make to the cache (local records, the premise or slot an action changed, the
audit row) goes through `serialised`: under the cache's `write_lock`, the lock the sync commit and the
Kafka batches hold for their whole transaction.

Why: DuckDB runs each cursor's transaction optimistically. A form update landing while a sync commit
is replacing the same table either conflicts (`TransactionException`) or, worse, is silently
overwritten by the sync's snapshot when that commits after it. Taking the same lock makes the form's
transaction start only after the sync's has committed, so it applies on top of the fresh snapshot.
A conflict with a writer outside the lock (none is known) is retried a few times as well.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import duckdb

from kontur.cache import WriteLock, transaction

log = logging.getLogger(__name__)

T = TypeVar("T")

# A full sync at scale 10 commits in seconds; well beyond that something is stuck, and a page must not
# hang forever on a form submission: the write then fails (the next sync brings the truth).
LOCK_WAIT_SECONDS = 120.0
CONFLICT_ATTEMPTS = 4
_CONFLICT_PAUSE = 0.05  # doubled after each conflict


class WriteLockTimeout(RuntimeError):
    """The cache stayed locked by another writer for longer than `LOCK_WAIT_SECONDS`."""


def serialised(
    conn: duckdb.DuckDBPyConnection,
    work: Callable[[duckdb.DuckDBPyConnection], T],
    *,
    lock: WriteLock | None,
    wait: float = LOCK_WAIT_SECONDS,
) -> T:
    """Run `work` in one transaction on a fresh cursor of `conn`, holding `lock` for the whole of it.

    `lock` None: nothing else writes through this connection (a test, a one-off CLI run). Raises what
    the last attempt raised (the transaction rolled back) or `WriteLockTimeout`.
    """
    if lock is not None and not lock.acquire(timeout=wait):
        raise WriteLockTimeout(f"the cache stayed locked by another writer for {wait:.0f} s")
    try:
        pause = _CONFLICT_PAUSE
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                return _once(conn, work)
            except duckdb.TransactionException:
                if attempt == CONFLICT_ATTEMPTS:
                    raise
                log.info("cache write conflicted (attempt %d); retrying", attempt)
                time.sleep(pause)
                pause *= 2
        raise AssertionError("unreachable")  # the loop returns or raises
    finally:
        if lock is not None:
            lock.release()


def _once(conn: duckdb.DuckDBPyConnection, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    with transaction(conn) as cur:  # the lock is held by `serialised` (with its timeout)
        return work(cur)
