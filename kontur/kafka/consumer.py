"""The consume loop: Brusnika's seven topics into the cache, in batches, at least once.

Shape of one batch: `consume()` up to `batch_max` messages (or whatever arrived within `linger`),
convert each (`messages.convert`), stage them per entity through the REST sync's load path
(`kontur.load.Staging.add_record_files`: the same checks, the same per-record pydantic fallback, the
same rejects), apply them in ONE DuckDB transaction (incremental mode: upserts where the incoming
`updated_at` is not older, tombstones, older arrivals ignored) together with the partitions' next
offsets (`kafka_offsets`); only after that transaction are offsets committed to the consumer group
(every `commit_every` seconds and at the end: the cache's own offsets are where a restart resumes).
A crash anywhere re-delivers from what the cache recorded, and re-delivery changes nothing.

Three threads, each stage overlapping the others: the fetcher (librdkafka, sorting, NDJSON files),
the stager (DuckDB parses a batch into a free Staging), the applier (one transaction per batch).

Partitions are assigned manually (`assign()` of every partition of the seven topics) rather than
through a dynamic group: each cache materialises every partition anyway, and a restarted consumer
resumes at once instead of waiting for the broker to evict its dead predecessor. The group id still
names where offsets are committed (so standard lag tooling sees this consumer). Partitions read to
their end are paused and fetched again every `_END_POLL` seconds (see `_Fetcher._pause_ended`).
"""

from __future__ import annotations

import argparse
import logging
import queue
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from kontur.cache import Cache, CacheLockedError
from kontur.load import EntityCounts, Staging, refresh_summaries

from . import progress
from .messages import Item, MessageSources, Poison, convert
from .topics import TOPICS, entity_for

if TYPE_CHECKING:
    from kontur.config import Settings

logger = logging.getLogger("kontur.kafka")

Partition = tuple[str, int]
_T = TypeVar("_T")


@dataclass(frozen=True)
class ConsumeOptions:
    # Messages applied in one transaction at most, and the bytes of their values: big batches pay
    # the per-statement and per-commit costs less often (the checks' SQL alone costs ~8 ms per
    # statement), while the byte bound keeps memory flat whatever the record size (up to three
    # batches are alive: one being fetched, one queued, one being applied).
    batch_max: int = 150_000
    batch_bytes: int = 64 * 1024 * 1024
    linger: float = 0.5  # seconds a batch waits for more messages before it is applied
    metadata_every: float = 30.0  # seconds between looks for new topics / partitions
    # Seconds between offset commits to the consumer group once caught up, and while catching up on
    # a backlog; always at the end of the session. The cache's own `kafka_offsets`, written in each
    # batch's transaction, is where a restart resumes: the group's offsets serve lag tooling, so they
    # need not follow every batch, and a catch-up is not slowed by commits. A commit is cheap on Kafka
    # but not on every broker: noida-db (the test broker) rewrites its whole data file, a core for
    # ~6 s at scale 1.
    commit_every: float = 5.0
    commit_every_backlog: float = 60.0
    watermarks_every: float = 5.0  # seconds between lag refreshes while idle
    until_caught_up: bool = False  # stop once every partition is read to its end
    max_messages: int | None = None  # stop after about this many messages (tests, benchmarks)


@dataclass
class BatchResult:
    messages: int
    rejected_by_transport: int
    counts: dict[str, EntityCounts]
    offsets: dict[Partition, int]


@dataclass
class ConsumeStats:
    run_id: int = 0
    batches: int = 0
    messages: int = 0
    loaded: int = 0
    deleted: int = 0
    rejected: int = 0
    ignored_older: int = 0
    seconds: float = 0.0
    stopped_by: str = ""  # signal | caught up | max messages | stop requested | error
    error: str | None = None
    # Every assigned partition was read to its end as of the last batch applied (or idle fetch).
    caught_up: bool = False
    last_batch_at: float | None = None  # time.time() of the last batch committed

    def add(self, batch: BatchResult) -> None:
        self.batches += 1
        self.messages += batch.messages
        for c in batch.counts.values():
            self.loaded += c.loaded
            self.deleted += c.deleted
            self.rejected += c.rejected
            self.ignored_older += c.ignored_older


BatchCallback = Callable[[BatchResult], None]


def consumer_config(settings: Settings, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """librdkafka settings: the connection (bootstrap, group, SASL/TLS) from Settings, then ours.
    Holds the SASL password in clear: never log it."""
    config: dict[str, Any] = dict(settings.kafka_client_config())
    config.update(
        {
            # Offsets are committed by hand, after the cache transaction: never by the client.
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            # Tells us when a partition is read to its end (--until-caught-up, lag display).
            "enable.partition.eof": True,
            "client.id": "kontur-consume",
            # Big fetches: the loop applies tens of thousands of small records per transaction.
            "fetch.max.bytes": 64 * 1024 * 1024,
            "max.partition.fetch.bytes": 8 * 1024 * 1024,
            "queued.max.messages.kbytes": 256 * 1024,
            # Some Kafka-protocol brokers (noida-db, our test broker) ignore the fetch size limits and
            # answer with a whole partition (~180 MB of leads at scale 1), which librdkafka refuses
            # above this cap (default 100 MB) and then retries forever. A cap, not an allocation.
            "receive.message.max.bytes": 1_000_000_000,
        }
    )
    config.update(overrides or {})
    return config


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
        fetcher: _Fetcher | None = None
        stager: _Stager | None = None
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
            fetcher = _Fetcher(self, consumer, stagings[0])
            fetcher.assign(first=True)
            fetcher.start()
            stager = _Stager(self, fetcher, stagings)
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
            stats.error = _describe(exc)
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
                for tp in consumer.committed([TopicPartition(t, p) for t, p in partitions], timeout=30)
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
                    low, _high = consumer.get_watermark_offsets(TopicPartition(*tp), timeout=30)
                except KafkaException:
                    low = -1
                starts[tp] = low if low >= 0 else OFFSET_BEGINNING
        return starts

    # --- one batch -------------------------------------------------------------------------------
    def stage(self, staging: Staging, fetched: _Fetched) -> list[str]:
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

    def _commit(self, staging: Staging, fetched: _Fetched, entities: Sequence[str]) -> BatchResult:
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


@dataclass
class _Staged:
    """A fetched batch parsed into `staging` (None: an idle fetch, nothing to apply)."""

    fetched: _Fetched
    staging: Staging | None
    entities: list[str] = field(default_factory=list)


class _Stager(threading.Thread):
    """Between the fetcher and the applier: parses each fetched batch into a free Staging, so the
    next batch is parsed while the previous one is applied. A Staging is used by one thread at a
    time (a DuckDB connection is not for concurrent use): here until handed over, then by the
    applier until it `release`s it."""

    def __init__(self, ingest: KafkaIngest, fetcher: _Fetcher, stagings: Sequence[Staging]) -> None:
        super().__init__(name="kontur-kafka-stage", daemon=True)
        self.ingest = ingest
        self.fetcher = fetcher
        self._free: queue.Queue[Staging] = queue.Queue()
        for staging in stagings:
            self._free.put(staging)
        self._out: queue.Queue[_Staged | BaseException] = queue.Queue(maxsize=1)
        self._closing = threading.Event()

    # --- called from the applying thread --------------------------------------------------------
    def take(self, timeout: float) -> _Staged | None:
        return _take(self, self._out, timeout)

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
                staged = _Staged(fetched, None)
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

    def _hand_over(self, item: _Staged | BaseException) -> None:
        while not self._closing.is_set():
            try:
                self._out.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        if isinstance(item, BaseException):
            logger.error("Kafka stage thread failed: %s", _describe(item))


@dataclass
class _Fetched:
    """One consume() call's messages, sorted per entity, ready for the load path."""

    values: dict[str, list[bytes]] = field(default_factory=dict)
    sources: dict[str, MessageSources] = field(default_factory=dict)
    # Each entity's values as NDJSON files, written by the fetch thread (`Staging.write_records`).
    files: dict[str, list[Path]] = field(default_factory=dict)
    poison: dict[str, list[tuple[str, int | None, str]]] = field(default_factory=dict)
    next_offsets: dict[Partition, int] = field(default_factory=dict)
    per_partition: dict[Partition, int] = field(default_factory=dict)
    watermarks: dict[Partition, int] = field(default_factory=dict)
    # Where every assigned partition started (recorded as its position until its first message).
    starts: dict[Partition, int] = field(default_factory=dict)
    caught_up: bool = False  # every assigned partition was at its end after this batch


class _Fetcher(threading.Thread):
    """Owns the librdkafka consumer: every call on it happens in this thread (assign, consume,
    watermarks, commit), so the applying thread only exchanges plain data with it."""

    def __init__(self, ingest: KafkaIngest, consumer: Consumer, staging: Staging) -> None:
        super().__init__(name="kontur-kafka-fetch", daemon=True)
        self.ingest = ingest
        self.consumer = consumer
        self.staging = staging
        self.options = ingest.options
        # One batch fetched ahead: bounded memory, and loading overlaps the next fetch.
        self._out: queue.Queue[_Fetched | BaseException] = queue.Queue(maxsize=1)
        self._commits: queue.SimpleQueue[dict[Partition, int]] = queue.SimpleQueue()
        self._closing = threading.Event()
        self._assigned: dict[Partition, int] = {}
        self._at_end: set[Partition] = set()
        # Partitions paused at their end (see _pause_ended) and when they are to be fetched again.
        self._paused: set[Partition] = set()
        self._paused_at = 0.0
        self._closed = False
        self._batches = 0
        self._uncommitted: dict[Partition, int] = {}
        self._last_commit = time.monotonic()

    # --- called from the applying thread --------------------------------------------------------
    def take(self, timeout: float) -> _Fetched | None:
        return _take(self, self._out, timeout)

    def commit(self, offsets: dict[Partition, int]) -> None:
        """Ask for a commit of offsets whose batch is durable in DuckDB (made before the next fetch)."""
        self._commits.put(offsets)

    def close(self) -> None:
        """Stop fetching, make the commits asked for, close the consumer. A batch fetched but not
        applied is dropped uncommitted: the next session reads it again."""
        if self._closed:
            return
        self._closed = True
        self._closing.set()
        if self.is_alive():
            self.join(timeout=60)
        else:
            self._drain_commits(final=True)
            self.consumer.close()

    # --- the fetch thread -----------------------------------------------------------------------
    def run(self) -> None:
        try:
            next_metadata = time.monotonic() + self.options.metadata_every
            while not self._closing.is_set():
                self._drain_commits()
                fetched = self._fetch_batch()
                while not self._closing.is_set():
                    try:
                        self._out.put(fetched, timeout=0.1)
                        break
                    except queue.Full:
                        self._drain_commits()  # the applier finished a batch meanwhile
                if time.monotonic() >= next_metadata:
                    self.assign(first=False)
                    next_metadata = time.monotonic() + self.options.metadata_every
        except BaseException as exc:
            try:
                self._out.put(exc, timeout=5)
            except queue.Full:
                logger.error("Kafka fetch thread failed: %s", _describe(exc))
        finally:
            try:
                self._drain_commits(final=True)
            finally:
                self.consumer.close()

    def _fetch_batch(self) -> _Fetched:
        """One batch: messages until `batch_max` of them or `batch_bytes` of values, or every
        partition at its end, or `linger` seconds have passed with nothing more waiting in the
        client; then each entity's values are written as NDJSON files here, so the applying thread
        only runs DuckDB. While a backlog flows, batches fill up (a batch cut at `linger` would be
        smaller than DuckDB's row group, which costs a second write of its rows through the WAL); a
        live trickle is applied within `linger`, a flood within `_MAX_LINGERS` of it."""
        options = self.options
        builder = _Builder()
        started = time.monotonic()
        # The first batches are small and grow, so applying starts while the next ones are fetched
        # (the applier would otherwise idle through the whole first fetch).
        limit = min(options.batch_max, _CHUNK << min(self._batches, 8))
        self._batches += 1
        while not self._closing.is_set():
            wanted = min(limit - builder.messages, _CONSUME)
            elapsed = time.monotonic() - started
            if wanted <= 0 or elapsed >= options.linger * _MAX_LINGERS:
                break
            self._resume_paused(idle=False)
            # What the client already holds, without waiting: `consume(n, timeout)` blocks until it
            # has all n or the timeout passed, which at the end of a backlog would idle a full linger.
            chunk = self.consumer.consume(wanted, 0)
            if not chunk:
                if elapsed >= options.linger:
                    break
                self._resume_paused(idle=True)
                # Nothing queued: wait for the next message (returns as soon as one arrives), in
                # short steps so that `close` is not kept waiting a whole linger.
                chunk = self.consumer.consume(1, min(options.linger - elapsed, _WAIT_STEP))
                if not chunk:
                    continue
            self._sort(chunk, builder)
            self._pause_ended(builder)
            if builder.bytes >= options.batch_bytes or self._caught_up():
                break
        return builder.finish(self)

    def _pause_ended(self, batch: _Builder) -> None:
        """Pause partitions read to their end, and fetch them again later (`_resume_paused`).
        Kafka holds a fetch at the end of a partition until data arrives (`fetch.wait.max.ms`), but
        some brokers answer at once (noida-db, our test broker, does): librdkafka then asks again
        and again, which kept half a core of ours and of the broker's busy for nothing, while the
        other partitions of a backlog were still being read, and all the time a caught-up consumer
        sat idle. A message arriving on a paused partition waits at most `_END_POLL` longer (up to
        `_END_POLL_BUSY` while a backlog on other partitions is being read)."""
        if not batch.ended:
            return
        ended = [tp for tp in batch.ended if tp in self._at_end and tp not in self._paused]
        batch.ended.clear()
        if not ended:
            return
        self.consumer.pause([TopicPartition(t, p) for t, p in ended])
        if not self._paused:
            self._paused_at = time.monotonic()
        self._paused.update(ended)

    def _resume_paused(self, *, idle: bool) -> None:
        """Fetch the paused partitions again: when nothing else is waiting in the client (`idle`),
        `_END_POLL` after they were paused; while a backlog keeps us busy, every `_END_POLL_BUSY`
        (a resumed partition at its end spins again until it is paused at its next end event, and
        a busy fetch thread may not see that event for a while)."""
        if not self._paused:
            return
        if time.monotonic() - self._paused_at >= (_END_POLL if idle else _END_POLL_BUSY):
            self.consumer.resume([TopicPartition(t, p) for t, p in self._paused])
            self._paused.clear()

    def _caught_up(self) -> bool:
        return bool(self._assigned) and self._at_end >= set(self._assigned)

    def _drain_commits(self, *, final: bool = False) -> None:
        """Collect the offsets the applier asked to commit; commit them to the group every
        `commit_every` seconds, and at the end (`final`)."""
        merged = self._uncommitted
        while True:
            try:
                offsets = self._commits.get_nowait()
            except queue.Empty:
                break
            for tp, offset in offsets.items():
                merged[tp] = max(merged.get(tp, 0), offset)
        if not merged:
            return
        every = self.options.commit_every if self._caught_up() else self.options.commit_every_backlog
        if not final and time.monotonic() - self._last_commit < every:
            return
        # Only now, with the batches durable in DuckDB, tell the group. If this fails the cache still
        # knows its offsets (kafka_offsets), and a re-delivery would change nothing anyway.
        try:
            self.consumer.commit(
                offsets=[TopicPartition(t, p, o) for (t, p), o in merged.items()], asynchronous=False
            )
        except KafkaException as exc:
            logger.warning("offsets applied to the cache but not committed to the group: %s", exc)
        merged.clear()
        self._last_commit = time.monotonic()

    def assign(self, *, first: bool) -> None:
        """Assign every partition of the seven topics not yet assigned (new topics and partitions
        appear without a restart), each from where this cache left off."""
        metadata = self.consumer.list_topics(timeout=30)
        wanted = [
            (topic, partition)
            for topic in TOPICS.values()
            if topic in metadata.topics and metadata.topics[topic].error is None
            for partition in sorted(metadata.topics[topic].partitions)
        ]
        missing = [t for t in TOPICS.values() if t not in metadata.topics]
        if first and missing:
            logger.warning("topics not on the broker yet (looked for again every %.0f s): %s",
                           self.options.metadata_every, ", ".join(missing))  # fmt: skip
        new = [tp for tp in wanted if tp not in self._assigned]
        if not new:
            return
        starts = self.ingest.start_offsets(self.consumer, new)
        self._assigned.update(starts)
        # The group learns where this cache stands even on partitions with nothing new (an earlier
        # session may have applied batches and died before its next group commit).
        for tp, offset in starts.items():
            if offset >= 0:
                self._uncommitted[tp] = max(self._uncommitted.get(tp, 0), offset)
        self.consumer.incremental_assign([TopicPartition(t, p, o) for (t, p), o in starts.items()])
        logger.info("consuming %d partitions of %d topics (group %s)", len(self._assigned),
                    len({t for t, _ in self._assigned}), self.ingest.group_id)  # fmt: skip

    def _watermarks(self) -> dict[Partition, int]:
        """High watermarks as the last fetch responses reported them (no broker round trip)."""
        marks: dict[Partition, int] = {}
        for topic, partition in self._assigned:
            try:
                _low, high = self.consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), cached=True
                )
            except KafkaException:
                continue
            if high is not None and high >= 0:
                marks[(topic, partition)] = high
        return marks

    def _sort(self, messages: Sequence[Message], batch: _Builder) -> None:
        """The hot loop (runs once per message, holding the GIL): only what is needed. Plain values
        are passed on as they are; a message's source is kept as (partition, offset) and named only
        if the load path rejects it; per-partition figures are kept per run of consecutive messages
        of one partition (how librdkafka hands them out), not per message."""
        values, sources, poison = batch.values, batch.sources, batch.poison
        last, counts, at_end = batch.last, batch.counts, self._at_end
        run_tp: Partition | None = None
        run_last = run_count = 0
        run_topic: str | None = None
        # Bound appends of the current topic's lists (set at the first plain value: run_topic is None).
        add_value: Callable[[bytes], None] = _unset
        add_partition: Callable[[int], None] = _unset
        add_offset: Callable[[int], None] = _unset
        size = 0
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    # Close the open run first: its partition's messages came before this event.
                    if run_tp is not None:
                        last[run_tp] = run_last
                        counts[run_tp] = counts.get(run_tp, 0) + run_count
                        run_tp, run_count = None, 0
                    ended = (message.topic(), message.partition())
                    at_end.add(ended)
                    batch.ended.append(ended)
                    continue
                if error.fatal():
                    raise KafkaException(error)
                # Transient (broker restarting, a partition moving): librdkafka retries by itself.
                logger.warning("Kafka: %s", error.str())
                continue
            topic = message.topic()
            partition = message.partition()
            offset = message.offset()
            if run_tp is None or partition != run_tp[1] or topic != run_tp[0]:
                if run_tp is not None:
                    last[run_tp] = run_last
                    counts[run_tp] = counts.get(run_tp, 0) + run_count
                run_tp, run_count = (topic, partition), 0
                at_end.discard(run_tp)  # in order: an end-of-partition event may follow in this batch
            run_last = offset  # a partition's messages arrive in offset order
            run_count += 1
            value = message.value()
            if value is not None and value.strip():
                if topic != run_topic:
                    bucket = values.get(topic)
                    if bucket is None:
                        bucket = values[topic] = []
                        sources[topic] = MessageSources(topic)
                    run_topic = topic
                    add_value = bucket.append
                    add_partition = sources[topic].partitions.append
                    add_offset = sources[topic].offsets.append
                add_value(value)
                add_partition(partition)
                add_offset(offset)
                size += len(value)
                continue
            converted = convert(message)
            if isinstance(converted, Item):
                values.setdefault(topic, []).append(converted.value)
                sources.setdefault(topic, MessageSources(topic)).append(partition, offset)
                run_topic = None  # the bound appends may point at a list made just now: look again
            else:
                assert isinstance(converted, Poison)
                poison.setdefault(topic, []).append((converted.source, converted.record_id, converted.reason))
        if run_tp is not None:
            last[run_tp] = run_last
            counts[run_tp] = counts.get(run_tp, 0) + run_count
        batch.messages += len(messages)
        batch.bytes += size


def _unset(_value: object) -> None:  # pragma: no cover - never called, see _sort
    raise AssertionError("no bucket selected")


# A big batch of one entity is written as this many files: DuckDB parses one NDJSON file on one thread,
# several in parallel (measured: two files of 75k leads parse in ~75% of the time of one of 150k).
_PARSE_PARTS = 2

# A batch whose messages keep coming without a pause may grow for this many lingers at most.
_MAX_LINGERS = 4

# Seconds a partition read to its end stays paused before it is fetched again (see _pause_ended).
_END_POLL = 0.25
_END_POLL_BUSY = 5.0

# Seconds of one blocking wait for the next message (the fetch thread looks at `close` in between).
_WAIT_STEP = 0.05

# The first batch's size (later ones double up to `batch_max`), and the least messages of one entity
# worth splitting into `_PARSE_PARTS` files.
_CHUNK = 20_000

# consume() asks for at most this many messages at a time. Small on purpose: librdkafka's Message
# objects are tracked by Python's garbage collector, and the ones still alive when a collection
# runs are moved to an older generation. With 20,000 per call, a 620k-message catch-up spent ~0.9 s
# in full collections (each walks every object of the process, holding the GIL); 2,000 still
# triggered some. Below the young generation's threshold (700 allocations by default) a call's
# messages are freed before a collection is due, and none runs at all (measured: 8 young ones).
_CONSUME = 500


@dataclass
class _Builder:
    """A batch being fetched (keyed by topic until `finish`)."""

    values: dict[str, list[bytes]] = field(default_factory=dict)
    sources: dict[str, MessageSources] = field(default_factory=dict)
    poison: dict[str, list[tuple[str, int | None, str]]] = field(default_factory=dict)
    last: dict[Partition, int] = field(default_factory=dict)
    counts: dict[Partition, int] = field(default_factory=dict)
    messages: int = 0  # including end-of-partition events: only bounds the batch
    ended: list[Partition] = field(default_factory=list)  # end-of-partition events, to pause
    bytes: int = 0

    def finish(self, fetcher: _Fetcher) -> _Fetched:
        # Keyed by entity from here on (topics not ours cannot be assigned, so entity_for is total).
        values = {entity_for(t) or t: v for t, v in self.values.items()}
        return _Fetched(
            values=values,
            sources={entity_for(t) or t: s for t, s in self.sources.items()},
            files={
                entity: fetcher.staging.write_records(v, parts=_PARSE_PARTS if len(v) >= _CHUNK else 1)
                for entity, v in values.items()
            },
            poison={entity_for(t) or t: p for t, p in self.poison.items()},
            next_offsets={tp: offset + 1 for tp, offset in self.last.items()},
            per_partition=dict(self.counts),
            watermarks=fetcher._watermarks(),
            starts={tp: o for tp, o in fetcher._assigned.items() if o >= 0},
            caught_up=fetcher._caught_up(),
        )


def _take(thread: threading.Thread, out: queue.Queue[_T | BaseException], timeout: float) -> _T | None:
    """The next item `thread` handed over on `out` (None if none came within `timeout`); an exception
    it handed over is raised here, in the taking thread; an error if it stopped without one."""
    try:
        item = out.get(timeout=timeout)
    except queue.Empty:
        if not thread.is_alive() and out.empty():
            raise RuntimeError(f"the Kafka thread {thread.name} stopped") from None
        return None
    if isinstance(item, BaseException):
        raise item
    return item


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --- CLI -----------------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kontur consume",
        description="Feed the cache from Brusnika's Kafka topics until SIGTERM/SIGINT (or caught up).",
    )
    parser.add_argument("--cache", type=Path, help="cache file (default: KONTUR_CACHE_PATH)")
    parser.add_argument("--bootstrap", help="bootstrap servers (default: KAFKA_BOOTSTRAP_SERVERS)")
    parser.add_argument("--group", help="consumer group id (default: KAFKA_GROUP_ID or kontur-dashboard)")
    parser.add_argument("--until-caught-up", action="store_true", help="exit once every partition is read")
    parser.add_argument(
        "--batch", type=int, default=ConsumeOptions.batch_max, help="messages per transaction at most"
    )
    parser.add_argument("--linger", type=float, default=ConsumeOptions.linger, help="seconds a batch waits")
    parser.add_argument("--quiet", action="store_true", help="no per-batch lines")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from kontur.config import Settings, SettingsError

    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")  # fmt: skip
    try:
        settings = Settings.from_env()
        update: dict[str, Any] = {}
        if args.bootstrap:
            update["kafka_bootstrap_servers"] = args.bootstrap
        if args.group:
            update["kafka_group_id"] = args.group
        settings = settings.model_copy(update=update)
        settings.kafka_client_config()  # fails early, naming the variable, when nothing is set
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        cache = Cache(args.cache or settings.cache_path)
    except CacheLockedError as exc:
        print(exc, file=sys.stderr)
        return 3
    stop = threading.Event()
    signalled: list[str] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        signalled.append(signal.Signals(signum).name)
        stop.set()  # the loop finishes (and commits) the batch in hand, then closes cleanly

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)

    def on_batch(batch: BatchResult) -> None:
        if not args.quiet:
            loaded = sum(c.loaded for c in batch.counts.values())
            rejected = sum(c.rejected for c in batch.counts.values())
            print(f"batch: {batch.messages} messages, {loaded} rows written, {rejected} rejected", flush=True)

    ingest = KafkaIngest(
        cache,
        settings,
        options=ConsumeOptions(
            batch_max=args.batch, linger=args.linger, until_caught_up=args.until_caught_up
        ),
        on_batch=on_batch,
    )
    try:
        stats = ingest.run(stop)
    except Exception as exc:
        print(f"consumer failed: {_describe(exc)}", file=sys.stderr)
        return 1
    finally:
        cache.close()
    if signalled:
        stats.stopped_by = f"signal {signalled[0]}"
    print(
        f"kafka run {stats.run_id}: {stats.messages} messages in {stats.batches} batches, "
        f"{stats.loaded} rows written, {stats.deleted} deleted, {stats.rejected} rejected, "
        f"{stats.ignored_older} older ignored; stopped by {stats.stopped_by} after {stats.seconds:.1f} s",
        flush=True,
    )
    return 0
