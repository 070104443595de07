"""The consumer in a daemon thread of the process that holds the cache (the dashboard), supervised.

DuckDB allows one writer process per file, so the dashboard cannot leave consumption to a separate
`kontur consume`: it runs the same loop here, on cursors of its own connection; each batch commits
under `cache.write_lock` like the REST sync, and readers see the last committed batch (MVCC).

A session that stops on an error (brokers unreachable past the metadata timeout, a failure while
staging, ...) is restarted by the supervisor after a capped exponential backoff with jitter
(`kontur.retry.RetryPolicy.backoff`, 1 s doubling up to 60 s; the count starts again after a session
that applied something or ran longer than the cap). The new session resumes from `kafka_offsets` (what
the cache applied, exactly), so nothing is lost, and a batch in flight is read again, which changes
nothing. Each restart is a row of `consumer_restarts` (and the failed session a failed `sync_runs`
row), shown on the sync page.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kontur.cache import runs
from kontur.retry import RetryPolicy

from .ingest import KafkaIngest
from .options import BatchCallback, ConsumeOptions, ConsumeStats, describe

if TYPE_CHECKING:
    from kontur.cache import Cache
    from kontur.config import Settings

logger = logging.getLogger("kontur.kafka")

RESTART_POLICY = RetryPolicy(backoff_base=1.0, backoff_cap=60.0)


@dataclass(frozen=True)
class ConsumerStatus:
    """What the sync health page shows about the background consumer (a snapshot)."""

    state: str  # starting | catching up | caught up | restarting | stopped
    messages: int  # since the dashboard started, over every session
    batches: int
    rejected: int
    last_batch_at: float | None  # time.time()
    error: str | None  # the last session's error, while a restart is pending
    restarts: int  # sessions restarted after an error since the dashboard started
    restart_at: float | None  # time.time() of the pending restart


class BackgroundConsumer:
    """`start()` once; `stop()` finishes the batch in hand, commits it and closes the consumer.
    `on_batch` runs in the consumer thread after each committed batch and `on_restart` after each
    recorded restart (e.g. the dashboard's `runtime.bump_version`, so cached reads refresh)."""

    def __init__(
        self,
        cache: Cache,
        settings: Settings,
        *,
        on_batch: BatchCallback | None = None,
        on_restart: Callable[[], None] | None = None,
        options: ConsumeOptions | None = None,
        restart_policy: RetryPolicy = RESTART_POLICY,
        rng: random.Random | None = None,
    ) -> None:
        self.cache = cache
        self.settings = settings
        self.options = options
        self._on_batch = on_batch
        self._on_restart = on_restart
        self._policy = restart_policy
        self._rng = rng or random.Random()
        self._ingest = self._session()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None
        self.restarts = 0
        self._restart_at: float | None = None
        # Totals of the sessions before the current one.
        self._done = ConsumeStats()

    def __repr__(self) -> str:
        return f"BackgroundConsumer({self._ingest!r}, running={self.running})"

    def _session(self) -> KafkaIngest:
        return KafkaIngest(self.cache, self.settings, options=self.options, on_batch=self._on_batch)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def stats(self) -> ConsumeStats:
        """The current session's figures."""
        return self._ingest.stats

    @property
    def group_id(self) -> str:
        return self._ingest.group_id

    def status(self) -> ConsumerStatus:
        stats = self._ingest.stats
        if self._restart_at is not None:
            state = "restarting"
        elif self._thread is None or not self.running:
            state = "stopped"
        elif stats.caught_up:
            state = "caught up"
        elif stats.batches == 0 and stats.run_id == 0 and not self._done.batches:
            state = "starting"
        else:
            state = "catching up"
        return ConsumerStatus(
            state=state,
            messages=self._done.messages + stats.messages,
            batches=self._done.batches + stats.batches,
            rejected=self._done.rejected + stats.rejected,
            last_batch_at=stats.last_batch_at or self._done.last_batch_at,
            error=self.error,
            restarts=self.restarts,
            restart_at=self._restart_at,
        )

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("a BackgroundConsumer is started once")
        self._thread = threading.Thread(target=self._run, name="kontur-kafka", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self._ingest.run(self._stop)
                return  # stopped on request (or the options' end condition)
            except Exception as exc:  # recorded in sync_runs by the loop; restarted below
                stats = self._ingest.stats
                error = stats.error or describe(exc)
                logger.warning("background Kafka consumer stopped: %s", error)
            if stats.batches or time.monotonic() - started > self._policy.backoff_cap:
                failures = 0  # it got somewhere: a new failure is not part of the same outage
            failures += 1
            delay = self._policy.backoff(failures, self._rng)
            self._record_restart(stats.run_id or None, error, failures, delay)
            if self._stop.wait(delay):
                self._restart_at = None
                return
            self._restart_at = None
            self._add_done(stats)
            self._ingest = self._session()

    def _record_restart(self, run_id: int | None, error: str, attempt: int, delay: float) -> None:
        self.error = error
        self.restarts += 1
        self._restart_at = time.time() + delay
        try:
            with self.cache.cursor() as cur:
                runs.record_restart(
                    cur,
                    group_id=self.group_id,
                    failed_run_id=run_id,
                    error=error,
                    attempt=attempt,
                    delay=delay,
                )
        except Exception:  # the restart matters more than its record
            logger.exception("could not record the consumer restart")
        if self._on_restart is not None:
            self._on_restart()

    def _add_done(self, stats: ConsumeStats) -> None:
        done = self._done
        done.messages += stats.messages
        done.batches += stats.batches
        done.rejected += stats.rejected
        done.last_batch_at = stats.last_batch_at or done.last_batch_at

    def stop(self, timeout: float = 30.0) -> bool:
        """True when the thread has ended within `timeout`."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running
