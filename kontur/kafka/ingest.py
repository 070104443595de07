"""The consume loop: Brusnika's seven topics into the cache, in batches, at least once.

Shape of one batch: `consume()` up to `batch_max` messages (or whatever arrived within `linger`),
convert each (`messages.convert`), stage them per entity through the REST sync's load path
(`kontur.load.Staging.add_record_files`: the same checks, the same per-record pydantic fallback, the
same rejects), apply them in ONE DuckDB transaction (incremental mode: upserts where the incoming
`updated_at` is not older, tombstones, older arrivals ignored) together with the partitions' next
offsets (`kafka_offsets`); only after that transaction are offsets committed to the consumer group
(every `commit_every` seconds and at the end: the cache's own offsets are where a restart resumes).
A crash anywhere re-delivers from what the cache recorded, and re-delivery changes nothing.

Three threads, each stage overlapping the others: the fetcher (`fetcher`: librdkafka, sorting,
NDJSON files), the stager (`stager`: DuckDB parses a batch into a free Staging), the applier (here:
one transaction per batch).

Partitions are assigned manually (`assign()` of every partition of the seven topics) rather than
through a dynamic group: each cache materialises every partition anyway, and a restarted consumer
resumes at once instead of waiting for the broker to evict its dead predecessor. The group id still
names where offsets are committed (so standard lag tooling sees this consumer). Partitions read to
their end are paused and fetched again every `_END_POLL` seconds (see `Fetcher._pause_ended`).
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from kontur.cache import Cache
from kontur.load import EntityCounts, Staging, refresh_summaries

from . import progress
from .fetcher import Fetched, Fetcher
from .options import (
    BatchCallback,
    BatchResult,
    ConsumeOptions,
    ConsumeStats,
    Partition,
    consumer_config,
    describe,
)
from .stager import Stager

if TYPE_CHECKING:
    from kontur.config import Settings

logger = logging.getLogger("kontur.kafka")


class KafkaIngest:
    """One consumer session feeding one cache. `run(stop)` blocks until `stop` is set (or the
    options' end condition); it uses its own cursors of the cache's one connection, so it can run in
    a thread of the process that holds the cache (the dashboard)."""

    def __init__(
        self,
        cache: Cache,
        settings: Settings,
        *,
        options: ConsumeOptions | None = None,
        on_batch: BatchCallback | None = None,
        config_overrides: dict[str, Any] | None = None,
    ) -> None:
        self.cache = cache
        self.settings = settings
        self.group_id = settings.kafka_group_id
        self.options = options or ConsumeOptions()
        self.on_batch = on_batch
        self._config = consumer_config(settings, config_overrides)
        self._stats = ConsumeStats()
        self._summaries_stale = True

    def __repr__(self) -> str:  # the config holds credentials: never show it
        return f"KafkaIngest(group={self.group_id!r}, cache={self.cache!r})"

    @property
    def stats(self) -> ConsumeStats:
        return self._stats

    # --- the loop --------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> ConsumeStats:
        """Consume until `stop` is set (or the options' end condition). Three threads, so each stage
        overlaps the others: a fetcher owns the librdkafka consumer (consume, sort, NDJSON files,
        assignment, and the offset commits asked of it); a stager parses each batch's files into a
        free Staging (DuckDB read_json and the checks, into that Staging's own tables); this thread
        applies the staged batch in one transaction. DuckDB releases the GIL while it works, and
        parsing the next batch runs beside the single-threaded parts of applying this one (the
        INSERT into the cache's table, COMMIT)."""
        stats = self._stats = ConsumeStats(run_id=self.cache.start_run("kafka", "incremental"))
        started = time.perf_counter()
        fetcher: Fetcher | None = None
        stager: Stager | None = None
        # Two Stagings for the whole session (one being parsed into while the other is applied):
        # their tables are made once and truncated after each batch. Each its own batch directory.
        run_dir = self.cache.staging_dir / f"run-{stats.run_id}"
        stagings = [Staging(self.cache, stats.run_id, batch_dir=run_dir / part) for part in ("a", "b")]

        def shut_down() -> None:
            # Stager first (it takes from the fetcher), then the fetcher (it makes the commits asked
            # for so far), then the Stagings nobody uses any more.
            if stager is not None:
                stager.close()
            if fetcher is not None:
                fetcher.close()
            for staging in stagings:
                staging.close()
            shutil.rmtree(run_dir, ignore_errors=True)

        try:
            consumer = Consumer(self._config, logger=logger)
            fetcher = Fetcher(self, consumer, stagings[0])
            fetcher.assign(first=True)
            fetcher.start()
            stager = Stager(self, fetcher, stagings)
            stager.start()
            next_watermarks = time.monotonic() + self.options.watermarks_every
            # Whether the dashboard's lead summaries may be stale: batches that catch up on a backlog
            # skip their maintenance (see _commit). True at first: an earlier session may have left
            # them so (checked once, on the first idle fetch: cheap when they are fine).
            self._summaries_stale = True
            while not stop.is_set():
                if self._limit_reached(stats):
                    break
                staged = stager.take(timeout=0.2)
                if staged is None:
                    continue
                fetched = staged.fetched
                batch = None
                if staged.staging is not None:
                    batch = self._commit(staged.staging, fetched, staged.entities)
                    stager.release(staged.staging)
                stats.caught_up = fetched.caught_up
                if self._summaries_stale and (batch is None or fetched.caught_up):
                    # Caught up (by a batch without leads) or idle: nothing is waiting, so now is the
                    # time to rebuild them once.
                    refresh_summaries(self.cache)
                    self._summaries_stale = False
                if batch is not None:
                    fetcher.commit(batch.offsets)
                    stats.add(batch)
                    stats.last_batch_at = time.time()
                    if self.on_batch is not None:
                        self.on_batch(batch)
                elif time.monotonic() >= next_watermarks:
                    progress.record_watermarks(self.cache, self.group_id, fetched.watermarks)
                    next_watermarks = time.monotonic() + self.options.watermarks_every
                if self.options.until_caught_up and fetched.caught_up:
                    stats.stopped_by = "caught up"
                    break
            else:
                stats.stopped_by = "stop requested"
        except BaseException as exc:
            stats.stopped_by = "error"
            stats.error = describe(exc)
            logger.error("Kafka consumer run %d failed: %s", stats.run_id, stats.error)
            shut_down()
            progress.finish_run(self.cache, stats.run_id, error=stats.error)
            raise
        else:
            shut_down()
            progress.finish_run(self.cache, stats.run_id)
        finally:
            stats.seconds = time.perf_counter() - started
        return stats

    def _limit_reached(self, stats: ConsumeStats) -> bool:
        limit = self.options.max_messages
        if limit is not None and stats.messages >= limit:
            stats.stopped_by = "max messages"
            return True
        return False

    def start_offsets(self, consumer: Consumer, partitions: Sequence[Partition]) -> dict[Partition, int]:
        """Per partition: what this cache file recorded it applied (exact: written with the data);
        else the group's committed offset; else the beginning. A cache file with no Kafka progress
        at all for this group is new (or was rebuilt): it must materialise everything, so it reads
        from the beginning whatever the group committed for an earlier cache file."""
        applied = progress.applied_offsets(self.cache, self.group_id)
        committed: dict[Partition, int] = {}
        if applied:
            committed = {
                (tp.topic, tp.partition): tp.offset
                for tp in consumer.committed(
                    [TopicPartition(t, p) for t, p in partitions], timeout=self.options.metadata_timeout
                )
            }
        else:
            logger.info("cache %s has no Kafka progress for group %s: reading from the beginning",
                        self.cache.path, self.group_id)  # fmt: skip
        starts: dict[Partition, int] = {}
        for tp in partitions:
            if tp in applied:
                starts[tp] = applied[tp]
            elif committed.get(tp, -1) >= 0:
                starts[tp] = committed[tp]
            else:
                # The beginning as a number (one broker call per partition, at assignment only), so
                # every partition has a row in kafka_offsets, and its lag shows, before its first batch.
                try:
                    low, _high = consumer.get_watermark_offsets(
                        TopicPartition(*tp), timeout=self.options.metadata_timeout
                    )
                except KafkaException:
                    low = -1
                starts[tp] = low if low >= 0 else OFFSET_BEGINNING
        return starts

    # --- one batch -------------------------------------------------------------------------------
    def stage(self, staging: Staging, fetched: Fetched) -> list[str]:
        """Parse one fetched batch (its NDJSON files are already written) into `staging`: checks,
        per-record fallback, poison and rejects kept aside. Runs in the stager thread; returns the
        entities the batch touches."""
        entities = sorted(set(fetched.files) | set(fetched.poison))
        for entity in entities:
            if entity in fetched.files:
                staging.add_record_files(
                    entity, fetched.files[entity], fetched.values[entity], fetched.sources[entity]
                )
            staging.reject(entity, fetched.poison.get(entity, []))
        # The values were only kept for the fallback and the rejects' sources: free them now.
        fetched.values.clear()
        fetched.sources.clear()
        return entities

    def _commit(self, staging: Staging, fetched: Fetched, entities: Sequence[str]) -> BatchResult:
        """Apply one staged batch with its offsets in ONE transaction."""

        def record(cur: Any, counts: Mapping[str, EntityCounts]) -> None:
            progress.record_batch(
                cur,
                group_id=self.group_id,
                run_id=self._stats.run_id,
                next_offsets={**fetched.starts, **fetched.next_offsets},
                messages=fetched.per_partition,
                watermarks=fetched.watermarks,
                counts=counts,
            )

        # The lead summaries: a batch of a backlog (more is waiting) skips maintaining them (~1.5 s
        # of a 620k-message catch-up) and only marks them stale, so pages read `leads` meanwhile;
        # the batch that catches up maintains them, which on stale summaries means one rebuild in
        # that batch's transaction (and a live trickle's batches, all caught up, keep the cheap
        # per-batch delta). An idle fetch rebuilds them if a session ended before catching up.
        maintain = fetched.caught_up
        # A poison message is kept aside and consumption goes on: no share threshold here (the
        # REST sync's "the feed looks broken, apply nothing" would stall the stream forever).
        counts = staging.commit(
            dict.fromkeys(entities, "incremental"),
            max_rejected_share=1.0,
            finish_run=False,
            advance_high_water=False,  # see Staging.commit: the mark is the REST sync's
            in_transaction=record,
            maintain_summaries=maintain,
        )
        if "leads" in entities:
            self._summaries_stale = not maintain
        return BatchResult(
            messages=sum(fetched.per_partition.values()),
            rejected_by_transport=sum(len(p) for p in fetched.poison.values()),
            counts=counts,
            offsets=fetched.next_offsets,
        )
