"""What one dashboard process shares between its sessions: settings, the embedded sandbox (demo
mode), the cache connection and the background sync.

`app.py` builds one `Runtime` per (cache path, API URL) through `st.cache_resource`; nothing here runs
at import. The process holds the only read-write connection to the cache file (DuckDB allows one
writer process); readers and the sync thread each work on their own cursor of it.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import duckdb
from pydantic import SecretStr

from kontur.cache import Cache
from kontur.config import Settings

if TYPE_CHECKING:
    from kontur.kafka.background import BackgroundConsumer

log = logging.getLogger(__name__)

# Demo mode: a sandbox big enough to look like a real developer, small enough to sync in seconds.
# `KONTUR_DEMO_SCALE` overrides it (tests use a smaller world).
DEMO_SCALE = 0.1


@dataclass
class SyncProgress:
    """What the pages show about the background sync. Replaced whole (never mutated in place) by the
    sync thread, so a page reading it sees one consistent snapshot."""

    state: str = "idle"  # idle | running | done | failed
    entity: str | None = None
    entities_done: int = 0
    entities_total: int = 0
    rows: int = 0
    message: str = ""
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def fraction(self) -> float:
        if self.entities_total == 0:
            return 0.0
        return min(1.0, self.entities_done / self.entities_total)


# The sync function the runner calls: (runtime, report progress) -> None; raises on failure.
SyncFn = Callable[["Runtime", Callable[[SyncProgress], None]], None]


@dataclass
class SyncRunner:
    """Runs at most one sync at a time in a daemon thread; pages poll `progress`."""

    runtime: Runtime
    sync_fn: SyncFn
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None
    progress: SyncProgress = field(default_factory=SyncProgress)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        """Start a sync unless one is running; True when this call started it."""
        with self._lock:
            if self.running:
                return False
            self.progress = SyncProgress(state="running", started_at=time.time(), message="Запуск…")
            self._thread = threading.Thread(target=self._run, name="kontur-sync", daemon=True)
            self._thread.start()
            return True

    def wait(self, timeout: float | None = None) -> SyncProgress:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.progress

    def _report(self, progress: SyncProgress) -> None:
        self.progress = progress

    def _run(self) -> None:
        started = self.progress.started_at
        try:
            self.sync_fn(self.runtime, self._report)
        except Exception as exc:  # the page shows it; the thread must not die silently
            log.exception("background sync failed")
            self.progress = replace(
                self.progress, state="failed", message=_safe_message(exc), finished_at=time.time()
            )
        else:
            self.progress = replace(self.progress, state="done", started_at=started, finished_at=time.time())
        finally:
            # Even a failed sync may have committed some entities: cached reads must refresh.
            self.runtime.bump_version()


def _safe_message(exc: BaseException) -> str:
    """The error's class and message; our errors never carry the token, and we cut long bodies."""
    text = str(exc) if isinstance(exc, SyncFailedError) else f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 500 else text[:497] + "…"


@dataclass
class Runtime:
    settings: Settings
    demo: bool
    cache: Cache
    sandbox: Any = None  # RunningSandbox in demo mode
    _version: int = 0
    _version_lock: threading.Lock = field(default_factory=threading.Lock)
    _first_sync_claimed: bool = False
    sync: SyncRunner = field(init=False)
    # The Kafka consumer feeding the cache, when KAFKA_BOOTSTRAP_SERVERS is configured.
    kafka: BackgroundConsumer | None = None

    def claim_first_sync(self) -> bool:
        """True exactly once per runtime: the session that gets it decides on the first sync."""
        with self._version_lock:
            if self._first_sync_claimed:
                return False
            self._first_sync_claimed = True
            return True

    @property
    def data_version(self) -> int:
        """Bumped whenever the cache's content changed; `st.cache_data` reads are keyed by it."""
        return self._version

    def bump_version(self) -> None:
        with self._version_lock:
            self._version += 1

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of the shared connection: its own transaction view, safe to use from a thread."""
        cur = self.cache.reader()
        try:
            yield cur
        finally:
            cur.close()

    def close(self) -> None:
        if self.kafka is not None:
            self.kafka.stop(timeout=30)  # finishes and commits the batch in hand first
        self.sync.wait(timeout=30)
        try:
            self.cache.close()
        finally:
            if self.sandbox is not None:
                self.sandbox.stop()


def start_runtime(settings: Settings, *, sync_fn: SyncFn | None = None) -> Runtime:
    """Open everything the dashboard shares. In demo mode (no API URL) start the embedded sandbox
    first and point the settings at it."""
    sandbox = None
    demo = settings.uses_sandbox
    if demo:
        from kontur.sandbox.server import start_sandbox

        sandbox = start_sandbox(scale=float(os.environ.get("KONTUR_DEMO_SCALE", DEMO_SCALE)))
        # The sandbox is a child process in its own group: stop it with us, not leave it behind.
        atexit.register(sandbox.stop)
        settings = settings.model_copy(
            update={"api_url": sandbox.api_url, "api_token": SecretStr(sandbox.token)}
        )
    try:
        cache = Cache(settings.cache_path)
    except BaseException:
        if sandbox is not None:
            sandbox.stop()
        raise
    runtime = Runtime(settings=settings, demo=demo, cache=cache, sandbox=sandbox)
    runtime.sync = SyncRunner(runtime=runtime, sync_fn=sync_fn or rest_sync)
    if settings.kafka_bootstrap_servers:
        start_kafka(runtime)
    return runtime


def start_kafka(runtime: Runtime) -> BackgroundConsumer:
    """Feed the runtime's cache from Kafka in a daemon thread of this process (the one writer of the
    file), bumping the data version after every committed batch so pages read fresh data."""
    from kontur.kafka.background import BackgroundConsumer

    if runtime.kafka is not None:
        return runtime.kafka
    consumer = BackgroundConsumer(
        runtime.cache, runtime.settings, on_batch=lambda _batch: runtime.bump_version()
    )
    runtime.kafka = consumer
    # The stream fills the cache: no automatic first REST sync (on a cache the stream feeds, a full
    # REST sync is refused anyway, see kontur.load.Staging.commit).
    runtime.claim_first_sync()
    consumer.start()
    # Stop it with the process, after the batch in hand is committed (before DuckDB's own atexit).
    atexit.register(consumer.stop)
    return consumer


class SyncFailedError(RuntimeError):
    """The sync ran and failed; its reason is recorded in `sync_runs` too."""


def rest_sync(runtime: Runtime, report: Callable[[SyncProgress], None]) -> None:
    """A REST sync into the runtime's cache (incremental where a high-water mark exists), reporting
    per-entity progress as the pages poll it."""
    from kontur.labels import ENTITY
    from kontur.models import ENTITIES
    from kontur.sync import EntityProgress, run_sync

    started = time.time()
    seen: dict[str, EntityProgress] = {}

    def on_progress(p: EntityProgress) -> None:
        seen[p.entity] = p
        done = sum(1 for e in seen.values() if e.done)
        rows = sum(e.records for e in seen.values())
        report(
            SyncProgress(
                state="running", entity=p.entity, entities_done=done, entities_total=len(ENTITIES), rows=rows,
                message=f"{ENTITY.get(p.entity, p.entity)} — {rows:,} записей".replace(",", " "),
                started_at=started,
            )
        )  # fmt: skip

    _refuse_full_on_kafka_fed_cache(runtime)
    result = run_sync(runtime.cache, runtime.settings, progress=on_progress)
    if not result.ok:
        raise SyncFailedError(result.error or "синхронизация не удалась")
    report(
        SyncProgress(
            state="running", entities_done=len(ENTITIES), entities_total=len(ENTITIES), rows=result.received,
            message=f"готово: {result.received:,} записей за {result.seconds:.1f} с".replace(",", " "),
            started_at=started,
        )
    )  # fmt: skip


def _refuse_full_on_kafka_fed_cache(runtime: Runtime) -> None:
    """Say at once (not after fetching everything) that a REST sync that would be full is refused on
    a cache the Kafka consumer feeds; the load path refuses it again inside its transaction."""
    from kontur.load import KafkaFedCacheError, refuse_full_if_kafka_fed
    from kontur.models import ENTITIES
    from kontur.sync import resolve_modes

    if "full" not in resolve_modes(runtime.cache, ENTITIES, None).values():
        return
    with runtime.cursor() as cur:
        try:
            refuse_full_if_kafka_fed(cur)
        except KafkaFedCacheError as exc:
            raise SyncFailedError(f"Синхронизация через REST не запущена: {exc}") from None
