"""What one dashboard process shares between its sessions: settings, the embedded sandbox (demo
mode), the cache connection, Kontur's operational store (its own records, shared by replicas), the
directory's mirror in the cache, the sync schedule and the Kafka consumer.

`app.py` builds one `Runtime` per (cache path, API URL) through `st.cache_resource`; nothing here runs
at import. The process holds the only read-write connection to the cache file (DuckDB allows one
writer process); readers, the scheduler's sync thread and the consumer each work on their own cursor
of it. Everything that must happen once per process (the first fill of an empty cache, the schedule,
restarting the consumer) lives here, never in a browser session, which a reload can tear down.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb
from pydantic import SecretStr

from kontur.cache import Cache
from kontur.cache.migrations import retire_local_tables, retired_rows
from kontur.config import Settings
from kontur.load import refresh_summaries
from kontur.mirror import DirectoryMirror
from kontur.scheduler import Scheduler
from kontur.store.db import Store, open_store
from kontur.store.legacy import move_at_start, moved_before, source_name

if TYPE_CHECKING:
    from kontur.kafka.background import BackgroundConsumer

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    demo: bool
    cache: Cache
    # Kontur's own records (users directory, audit, what was booked through Kontur): the operational
    # store, never the cache file (`kontur.store`); one engine per process, shared by replicas' URL.
    store: Store
    sandbox: Any = None  # RunningSandbox in demo mode
    _version: int = 0
    _version_lock: threading.Lock = field(default_factory=threading.Lock)
    # The REST schedule (`kontur.scheduler`): the sync page's «Синхронизировать» calls `sync.run_now()`.
    sync: Scheduler = field(init=False)
    # The Kafka consumer feeding the cache, when KAFKA_BOOTSTRAP_SERVERS is configured.
    kafka: BackgroundConsumer | None = None
    # The directory's read-only copy in the cache, for the analytics joins (`kontur.mirror`).
    mirror: DirectoryMirror | None = None

    @property
    def data_version(self) -> int:
        """Bumped whenever the cache's content changed; `st.cache_data` reads are keyed by it."""
        return self._version

    def bump_version(self) -> None:
        with self._version_lock:
            self._version += 1

    def directory_changed(self) -> None:
        """Something was changed through this process (a user saved, a booking's quota counted, a
        cache flag set): cached page reads start afresh, and the directory's mirror is copied again
        when the directory differs (a refresh that copies bumps the version itself)."""
        if self.mirror is None or not self._refresh_mirror():
            self.bump_version()

    def _refresh_mirror(self) -> bool:
        assert self.mirror is not None
        try:
            return self.mirror.refresh()
        except Exception:
            log.warning("directory mirror not refreshed now; the next period tries again", exc_info=True)
            return False

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of the shared connection: its own transaction view, safe to use from a thread."""
        with self.cache.reader() as cur:
            yield cur

    def close(self) -> None:
        if self.mirror is not None:
            self.mirror.stop()
        if self.kafka is not None:
            self.kafka.stop(timeout=30)  # finishes and commits the batch in hand first
        self.sync.stop(timeout=30)
        try:
            self.cache.close()
        finally:
            self.store.engine.dispose()
            if self.sandbox is not None:
                self.sandbox.stop()


def start_runtime(settings: Settings) -> Runtime:
    """Open everything the dashboard shares and start its background work: the sync schedule (which
    fills an empty cache at once, unless `auto_sync` is off) and, when configured, the Kafka consumer.
    In demo mode (no API URL) the embedded sandbox starts first and the settings point at it."""
    sandbox = None
    demo = settings.uses_sandbox
    if demo:
        from kontur.sandbox.server import start_sandbox

        sandbox = start_sandbox(scale=settings.demo_scale)
        # The sandbox is a child process in its own group: stop it with us, not leave it behind.
        atexit.register(sandbox.stop)
        settings = settings.model_copy(
            update={"api_url": sandbox.api_url, "api_token": SecretStr(sandbox.token)}
        )
    try:
        store = open_store(settings)
        # Records an older version kept in the cache file move into the store once, before the
        # cache is opened read-write (DuckDB refuses a second, read-only open in this process).
        move_at_start(store, settings.cache_path)
        cache = Cache(settings.cache_path)
    except BaseException:
        if sandbox is not None:
            sandbox.stop()
        raise
    runtime = Runtime(settings=settings, demo=demo, cache=cache, store=store, sandbox=sandbox)
    retire_moved_tables(cache, store)
    _summaries_at_start(cache)
    runtime.mirror = DirectoryMirror(store, cache, on_change=runtime.bump_version)
    runtime._refresh_mirror()
    runtime.mirror.start()
    atexit.register(runtime.mirror.stop)
    runtime.sync = Scheduler(
        cache, settings, kafka=bool(settings.kafka_bootstrap_servers), on_change=runtime.bump_version
    )
    if settings.kafka_bootstrap_servers:
        start_kafka(runtime)
    runtime.sync.start()
    atexit.register(runtime.sync.stop)
    return runtime


def retire_moved_tables(cache: Cache, store: Store) -> bool:
    """Drop the cache's tables of the older layout (local records, directory, audit) once it is safe:
    the store recorded the move of this very file, or they hold nothing. Otherwise (the move failed
    or was put off) they stay, and the next start tries the move again. True when dropped."""
    with cache.reader() as cur:
        rows = retired_rows(cur)
    if rows and not moved_before(store, source_name(cache.path)):
        log.warning("cache %s keeps %d rows not yet moved into the store", cache.path, rows)
        return False
    with cache.transaction() as cur:
        retire_local_tables(cur)
    return True


def start_kafka(runtime: Runtime) -> BackgroundConsumer:
    """Feed the runtime's cache from Kafka in a daemon thread of this process (the one writer of the
    file), bumping the data version after every committed batch and every restart, so pages read
    fresh data. The consumer restarts itself after an error (`kontur.kafka.background`)."""
    from kontur.kafka.background import BackgroundConsumer

    if runtime.kafka is not None:
        return runtime.kafka
    consumer = BackgroundConsumer(
        runtime.cache,
        runtime.settings,
        on_batch=lambda _batch: runtime.bump_version(),
        on_restart=runtime.bump_version,
    )
    runtime.kafka = consumer
    consumer.start()
    # Stop it with the process, after the batch in hand is committed (before DuckDB's own atexit).
    atexit.register(consumer.stop)
    return consumer


def _summaries_at_start(cache: Cache) -> None:
    # A cache written by another version (or left by a stopped consumer) keeps lead summaries its
    # readers ignore until the next leads load: every deals page read would scan 5M leads meanwhile.
    # Rebuilt once here instead (~1.5 s at scale 10; a cheap check when they are current).
    try:
        if refresh_summaries(cache):
            log.info("lead summaries rebuilt at start")
    except Exception:
        log.warning("lead summaries not rebuilt at start; the next leads load rebuilds them", exc_info=True)
