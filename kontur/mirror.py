"""The cache's read-only mirror of the users directory (`directory_mirror`), kept from the store.

The store owns the directory; the analytics queries join agents' names in DuckDB
(`kontur.queries.people`), which cannot read the store. So each dashboard process copies names, role,
status and agency into its own cache: at start, after every change made through this process, and
every `every` seconds (other replicas' changes). A refresh that finds the directory as last copied
(its size and newest change) writes nothing. Sign-in, roles, blocks and scopes never read the mirror:
they read the store directly, at every click.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pandas as pd
import sqlalchemy as sa

from kontur.cache import Cache
from kontur.cache.ddl import DIRECTORY_MIRROR, DIRECTORY_MIRROR_COLUMNS
from kontur.store import schema
from kontur.store.db import Store

log = logging.getLogger(__name__)

EVERY_SECONDS = 30.0
_COLUMNS = [name for name, _ in DIRECTORY_MIRROR_COLUMNS]


class DirectoryMirror:
    """Copies the store's directory into the cache when it changed (`refresh`), and on a schedule
    (`start`: a daemon thread; `stop`)."""

    def __init__(
        self,
        store: Store,
        cache: Cache,
        *,
        every: float = EVERY_SECONDS,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.cache = cache
        self.every = every
        self.on_change = on_change
        self._seen: Any = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _state(self) -> Any:
        users = schema.users
        with self.store.read() as tx:
            row = tx.execute(sa.select(sa.func.count(), sa.func.max(users.c.updated_at))).one()
        return tuple(row)

    def refresh(self, *, force: bool = False) -> bool:
        """Copy the directory when it changed since the last copy; True when the mirror was written."""
        with self._lock:
            state = self._state()
            if state == self._seen and not force:
                return False
            users = schema.users
            with self.store.read() as tx:
                rows = tx.execute(sa.select(*(users.c[name] for name in _COLUMNS)).order_by(users.c.id)).all()
            frame = pd.DataFrame([tuple(r) for r in rows], columns=_COLUMNS).astype(
                {"id": "int64", "agency_id": "Int64"}
            )
            with self.cache.transaction() as cur:
                cur.register("kontur_mirror_rows", frame)
                try:
                    cur.execute(f"DELETE FROM {DIRECTORY_MIRROR}")  # noqa: S608 - our constant
                    names = ", ".join(_COLUMNS)
                    copy = f"INSERT INTO {DIRECTORY_MIRROR} ({names}) SELECT {names} FROM kontur_mirror_rows"  # noqa: S608
                    cur.execute(copy)
                finally:
                    cur.unregister("kontur_mirror_rows")
            self._seen = state
        log.debug("directory mirror: %d users copied into the cache", len(frame))
        if self.on_change is not None:
            self.on_change()
        return True

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="kontur-directory-mirror", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.refresh()
            except Exception:
                # The store or the cache is briefly unavailable: the next period tries again.
                log.warning("directory mirror not refreshed; next try in %.0f s", self.every, exc_info=True)

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
