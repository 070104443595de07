"""The fetch thread: owns the librdkafka consumer (assign, consume, pause/resume, watermarks, group
commits) and turns each chunk of messages into a batch of NDJSON files per entity."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from kontur.load import Staging

from .messages import Item, MessageSources, Poison, convert
from .options import Partition, describe, take
from .topics import TOPICS, entity_for

if TYPE_CHECKING:
    from .ingest import KafkaIngest

logger = logging.getLogger("kontur.kafka")


@dataclass
class Fetched:
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


class Fetcher(threading.Thread):
    """Owns the librdkafka consumer: every call on it happens in this thread (assign, consume,
    watermarks, commit), so the applying thread only exchanges plain data with it."""

    def __init__(self, ingest: KafkaIngest, consumer: Consumer, staging: Staging) -> None:
        super().__init__(name="kontur-kafka-fetch", daemon=True)
        self.ingest = ingest
        self.consumer = consumer
        self.staging = staging
        self.options = ingest.options
        # One batch fetched ahead: bounded memory, and loading overlaps the next fetch.
        self._out: queue.Queue[Fetched | BaseException] = queue.Queue(maxsize=1)
        self._commits: queue.SimpleQueue[dict[Partition, int]] = queue.SimpleQueue()
        self._closing = threading.Event()
        self._assigned: dict[Partition, int] = {}
        self._at_end: set[Partition] = set()
        # Partitions paused at their end (see _pause_ended) and when they are to be fetched again.
        self._paused: set[Partition] = set()
        self._ever_paused: set[Partition] = set()
        self._paused_at = 0.0
        self._closed = False
        self._batches = 0
        self._uncommitted: dict[Partition, int] = {}
        self._last_commit = time.monotonic()

    # --- called from the applying thread --------------------------------------------------------
    def take(self, timeout: float) -> Fetched | None:
        return take(self, self._out, timeout)

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
                logger.error("Kafka fetch thread failed: %s", describe(exc))
        finally:
            try:
                self._drain_commits(final=True)
            finally:
                self.consumer.close()

    def _fetch_batch(self) -> Fetched:
        """One batch: messages until `batch_max` of them or `batch_bytes` of values, or every
        partition at its end, or `linger` seconds have passed with nothing more waiting in the
        client; then each entity's values are written as NDJSON files here, so the applying thread
        only runs DuckDB. While a backlog flows, batches fill up (a batch cut at `linger` would be
        smaller than DuckDB's row group, which costs a second write of its rows through the WAL); a
        live trickle is applied within `linger`, a flood within `_MAX_LINGERS` of it."""
        options = self.options
        builder = Builder()
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

    def _pause_ended(self, batch: Builder) -> None:
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
        self._ever_paused.update(ended)
        self.ingest.stats.paused_partitions = len(self._ever_paused)

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
        metadata = self.consumer.list_topics(timeout=self.options.metadata_timeout)
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
        self.ingest.stats.partitions = len(self._assigned)
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

    def _sort(self, messages: Sequence[Message], batch: Builder) -> None:
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
class Builder:
    """A batch being fetched (keyed by topic until `finish`)."""

    values: dict[str, list[bytes]] = field(default_factory=dict)
    sources: dict[str, MessageSources] = field(default_factory=dict)
    poison: dict[str, list[tuple[str, int | None, str]]] = field(default_factory=dict)
    last: dict[Partition, int] = field(default_factory=dict)
    counts: dict[Partition, int] = field(default_factory=dict)
    messages: int = 0  # including end-of-partition events: only bounds the batch
    ended: list[Partition] = field(default_factory=list)  # end-of-partition events, to pause
    bytes: int = 0

    def finish(self, fetcher: Fetcher) -> Fetched:
        # Keyed by entity from here on (topics not ours cannot be assigned, so entity_for is total).
        values = {entity_for(t) or t: v for t, v in self.values.items()}
        return Fetched(
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
