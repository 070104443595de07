"""The one way a transaction is written: lock, BEGIN, work, COMMIT, or ROLLBACK on any failure."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Protocol

import duckdb


class WriteLock(Protocol):
    """`threading.RLock` (what `Cache.write_lock` is), reduced to what is used here."""

    def acquire(self, blocking: bool = ..., timeout: float = ...) -> bool: ...
    def release(self) -> None: ...


@contextlib.contextmanager
def transaction(
    con: duckdb.DuckDBPyConnection, *, lock: WriteLock | None = None, new_cursor: bool = True
) -> Iterator[duckdb.DuckDBPyConnection]:
    """`with transaction(con) as cur:` runs the block in ONE transaction, holding `lock` (if any)
    from BEGIN to COMMIT. `new_cursor` (default): on a fresh cursor of `con`, closed afterwards;
    False: on `con` itself (a cursor that owns temp tables the work needs, e.g. a Staging's). The
    block raising, or COMMIT failing, rolls everything back and re-raises."""
    if lock is not None:
        lock.acquire()
    try:
        cur = con.cursor() if new_cursor else con
        try:
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                # A failed COMMIT has already ended the transaction: nothing left to roll back.
                with contextlib.suppress(duckdb.Error):
                    cur.execute("ROLLBACK")
                raise
        finally:
            if new_cursor:
                cur.close()
    finally:
        if lock is not None:
            lock.release()
