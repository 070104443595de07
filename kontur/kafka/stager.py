"""Between the fetcher and the applier: each fetched batch parsed into a free Staging."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kontur.load import Staging

from .fetcher import Fetched, Fetcher
from .options import describe, take

if TYPE_CHECKING:
    from .ingest import KafkaIngest

logger = logging.getLogger("kontur.kafka")


@dataclass
class Staged:
    """A fetched batch parsed into `staging` (None: an idle fetch, nothing to apply)."""

    fetched: Fetched
    staging: Staging | None
    entities: list[str] = field(default_factory=list)


class Stager(threading.Thread):
    """Between the fetcher and the applier: parses each fetched batch into a free Staging, so the
    next batch is parsed while the previous one is applied. A Staging is used by one thread at a
    time (a DuckDB connection is not for concurrent use): here until handed over, then by the
    applier until it `release`s it."""

    def __init__(self, ingest: KafkaIngest, fetcher: Fetcher, stagings: Sequence[Staging]) -> None:
        super().__init__(name="kontur-kafka-stage", daemon=True)
        self.ingest = ingest
        self.fetcher = fetcher
        self._free: queue.Queue[Staging] = queue.Queue()
        for staging in stagings:
            self._free.put(staging)
        self._out: queue.Queue[Staged | BaseException] = queue.Queue(maxsize=1)
        self._closing = threading.Event()

    # --- called from the applying thread --------------------------------------------------------
    def take(self, timeout: float) -> Staged | None:
        return take(self, self._out, timeout)

    def release(self, staging: Staging) -> None:
        """The applier is done with `staging` (committed): empty it for the next batch."""
        staging.reset()
        self._free.put(staging)

    def close(self) -> None:
        """Stop staging; a batch staged but not applied is dropped uncommitted (read again later)."""
        self._closing.set()
        if self.is_alive():
            self.join(timeout=60)

    # --- the stage thread -----------------------------------------------------------------------
    def run(self) -> None:
        try:
            while not self._closing.is_set():
                fetched = self.fetcher.take(timeout=0.2)
                if fetched is None:
                    continue
                staged = Staged(fetched, None)
                if fetched.next_offsets:
                    staging = self._free_staging()
                    if staging is None:
                        break
                    staged.staging = staging
                    staged.entities = self.ingest.stage(staging, fetched)
                self._hand_over(staged)
        except BaseException as exc:
            self._hand_over(exc)

    def _free_staging(self) -> Staging | None:
        while not self._closing.is_set():
            try:
                return self._free.get(timeout=0.1)
            except queue.Empty:
                continue
        return None

    def _hand_over(self, item: Staged | BaseException) -> None:
        while not self._closing.is_set():
            try:
                self._out.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        if isinstance(item, BaseException):
            logger.error("Kafka stage thread failed: %s", describe(item))
