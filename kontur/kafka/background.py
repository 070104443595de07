"""The consumer in a daemon thread of the process that holds the cache (the dashboard).

DuckDB allows one writer process per file, so the dashboard cannot leave consumption to a separate
`kontur consume`: it runs the same loop here, on cursors of its own connection; each batch commits
under `cache.write_lock` like the REST sync, and readers see the last committed batch (MVCC).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .consumer import BatchCallback, ConsumeOptions, ConsumeStats, KafkaIngest

if TYPE_CHECKING:
    from kontur.cache import Cache
    from kontur.config import Settings

logger = logging.getLogger("kontur.kafka")


@dataclass(frozen=True)
class ConsumerStatus:
    """What the sync health page shows about the background consumer (a snapshot)."""

    state: str  # starting | catching up | caught up | error | stopped
    messages: int
    batches: int
    rejected: int
    last_batch_at: float | None  # time.time()
    error: str | None


class BackgroundConsumer:
    """`start()` once; `stop()` finishes the batch in hand, commits it and closes the consumer.
    `on_batch` runs in the consumer thread after each committed batch (e.g. the dashboard's
    `runtime.bump_version`, so cached reads refresh)."""

    def __init__(self, cache: Cache, settings: Settings, *, on_batch: BatchCallback | None = None,
                 options: ConsumeOptions | None = None) -> None:  # fmt: skip
        self._ingest = KafkaIngest(cache, settings, options=options, on_batch=on_batch)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None

    def __repr__(self) -> str:
        return f"BackgroundConsumer({self._ingest!r}, running={self.running})"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def stats(self) -> ConsumeStats:
        return self._ingest.stats

    @property
    def group_id(self) -> str:
        return self._ingest.group_id

    def status(self) -> ConsumerStatus:
        stats = self._ingest.stats
        if self.error is not None:
            state = "error"
        elif self._thread is None or not self.running:
            state = "stopped"
        elif stats.caught_up:
            state = "caught up"
        elif stats.batches == 0 and stats.run_id == 0:
            state = "starting"
        else:
            state = "catching up"
        return ConsumerStatus(
            state=state,
            messages=stats.messages,
            batches=stats.batches,
            rejected=stats.rejected,
            last_batch_at=stats.last_batch_at,
            error=self.error,
        )

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("a BackgroundConsumer is started once")
        self._thread = threading.Thread(target=self._run, name="kontur-kafka", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._ingest.run(self._stop)
        except Exception as exc:  # recorded in sync_runs by the loop; kept here for the page
            self.error = self._ingest.stats.error or type(exc).__name__
            logger.exception("background Kafka consumer stopped")

    def stop(self, timeout: float = 30.0) -> bool:
        """True when the thread has ended within `timeout`."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running
