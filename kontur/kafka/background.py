"""The consumer in a daemon thread of the process that holds the cache (the dashboard).

DuckDB allows one writer process per file, so the dashboard cannot leave consumption to a separate
`kontur consume`: it runs the same loop here, on cursors of its own connection; each batch commits
under `cache.write_lock` like the REST sync, and readers see the last committed batch (MVCC).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from .consumer import BatchCallback, ConsumeOptions, ConsumeStats, KafkaIngest

if TYPE_CHECKING:
    from kontur.cache import Cache
    from kontur.config import Settings

logger = logging.getLogger("kontur.kafka")


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
