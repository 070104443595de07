"""The consume loop: Brusnika's seven topics into the cache, in batches, at least once.

Shape of one batch: `consume()` up to `batch_max` messages (or whatever arrived within `linger`),
convert each (`messages.convert`), stage them per entity through the REST sync's load path
(`kontur.load.Staging.add_items`: the same checks, the same per-record pydantic fallback, the same
rejects), apply them in ONE DuckDB transaction (incremental mode: upserts where the incoming
`updated_at` is not older, tombstones, older arrivals ignored) together with the partitions' next
offsets (`kafka_offsets`); only then commit those offsets to the consumer group. A crash anywhere
re-delivers from the last commit, and re-delivery changes nothing.

Partitions are assigned manually (`assign()` of every partition of the seven topics) rather than
through a dynamic group: each cache materialises every partition anyway, and a restarted consumer
resumes at once instead of waiting for the broker to evict its dead predecessor. The group id still
names where offsets are committed (so standard lag tooling sees this consumer).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from kontur.cache import Cache, CacheLockedError
from kontur.load import EntityCounts, Staging

from . import progress
from .messages import Item, Poison, convert
from .topics import TOPICS, entity_for

if TYPE_CHECKING:
    from kontur.config import Settings

logger = logging.getLogger("kontur.kafka")

Partition = tuple[str, int]


@dataclass(frozen=True)
class ConsumeOptions:
    batch_max: int = 20_000  # messages applied in one transaction at most
    linger: float = 0.5  # seconds a batch waits for more messages before it is applied
    metadata_every: float = 30.0  # seconds between looks for new topics / partitions
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
        self._assigned: dict[Partition, int] = {}
        self._at_end: set[Partition] = set()
        self._stats = ConsumeStats()

    def __repr__(self) -> str:  # the config holds credentials: never show it
        return f"KafkaIngest(group={self.group_id!r}, cache={self.cache!r})"

    @property
    def stats(self) -> ConsumeStats:
        return self._stats

    # --- the loop --------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> ConsumeStats:
        progress.ensure_table(self.cache)
        stats = self._stats = ConsumeStats(run_id=self.cache.start_run("kafka", "incremental"))
        started = time.perf_counter()
        consumer = Consumer(self._config, logger=logger)
        try:
            self._assign(consumer, first=True)
            next_metadata = time.monotonic() + self.options.metadata_every
            next_watermarks = time.monotonic() + self.options.watermarks_every
            while not stop.is_set():
                if self._done(stats):
                    break
                messages = consumer.consume(self.options.batch_max, self.options.linger)
                batch = self._apply(consumer, messages)
                now = time.monotonic()
                if batch is not None:
                    stats.add(batch)
                    if self.on_batch is not None:
                        self.on_batch(batch)
                elif now >= next_watermarks:
                    progress.record_watermarks(self.cache, self.group_id, self._watermarks(consumer))
                    next_watermarks = now + self.options.watermarks_every
                if now >= next_metadata:
                    self._assign(consumer, first=False)
                    next_metadata = now + self.options.metadata_every
            else:
                stats.stopped_by = stats.stopped_by or "stop requested"
        except BaseException as exc:
            stats.stopped_by = "error"
            stats.error = _describe(exc)
            logger.error("Kafka consumer run %d failed: %s", stats.run_id, stats.error)
            progress.finish_run(self.cache, stats.run_id, error=stats.error)
            raise
        else:
            progress.finish_run(self.cache, stats.run_id)
        finally:
            stats.seconds = time.perf_counter() - started
            consumer.close()
        return stats

    def _done(self, stats: ConsumeStats) -> bool:
        limit = self.options.max_messages
        if limit is not None and stats.messages >= limit:
            stats.stopped_by = "max messages"
            return True
        if self.options.until_caught_up and self._assigned and self._at_end >= set(self._assigned):
            stats.stopped_by = "caught up"
            return True
        return False

    # --- assignment ------------------------------------------------------------------------------
    def _assign(self, consumer: Consumer, *, first: bool) -> None:
        """Assign every partition of the seven topics not yet assigned (new topics and partitions
        appear without a restart), each from where this cache left off."""
        metadata = consumer.list_topics(timeout=30)
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
        starts = self._start_offsets(consumer, new)
        for tp, offset in starts.items():
            self._assigned[tp] = offset
        consumer.incremental_assign([TopicPartition(t, p, o) for (t, p), o in starts.items()])
        logger.info("consuming %d partitions of %d topics (group %s)", len(self._assigned),
                    len({t for t, _ in self._assigned}), self.group_id)  # fmt: skip

    def _start_offsets(self, consumer: Consumer, partitions: Sequence[Partition]) -> dict[Partition, int]:
        """Per partition: what this cache file recorded it applied (exact: written with the data);
        else the group's committed offset; else the beginning. A cache file with no Kafka progress
        at all for this group is new (or was rebuilt): it must materialise everything, so it reads
        from the beginning whatever the group committed for an earlier cache file."""
        applied = progress.applied_offsets(self.cache, self.group_id)
        if not applied:
            logger.info("cache %s has no Kafka progress for group %s: reading from the beginning",
                        self.cache.path, self.group_id)  # fmt: skip
            return dict.fromkeys(partitions, OFFSET_BEGINNING)
        committed = {
            (tp.topic, tp.partition): tp.offset
            for tp in consumer.committed([TopicPartition(t, p) for t, p in partitions], timeout=30)
        }
        starts: dict[Partition, int] = {}
        for tp in partitions:
            if tp in applied:
                starts[tp] = applied[tp]
            elif committed.get(tp, -1) >= 0:
                starts[tp] = committed[tp]
            else:
                starts[tp] = OFFSET_BEGINNING
        return starts

    def _watermarks(self, consumer: Consumer) -> dict[Partition, int]:
        """High watermarks as the last fetch responses reported them (no broker round trip)."""
        marks: dict[Partition, int] = {}
        for topic, partition in self._assigned:
            try:
                _low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
            except KafkaException:
                continue
            if high is not None and high >= 0:
                marks[(topic, partition)] = high
        return marks

    # --- one batch -------------------------------------------------------------------------------
    def _apply(self, consumer: Consumer, messages: Sequence[Message]) -> BatchResult | None:
        values: dict[str, list[bytes]] = defaultdict(list)
        sources: dict[str, list[str]] = defaultdict(list)
        poison: dict[str, list[tuple[str, int | None, str]]] = defaultdict(list)
        next_offsets: dict[Partition, int] = {}
        per_partition: dict[Partition, int] = defaultdict(int)
        for message in messages:
            error = message.error()
            topic, partition = message.topic() or "", message.partition() or 0
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    self._at_end.add((topic, partition))
                    continue
                if error.fatal():
                    raise KafkaException(error)
                # Transient (broker restarting, a partition moving): librdkafka retries by itself.
                logger.warning("Kafka: %s", error.str())
                continue
            self._at_end.discard((topic, partition))
            entity = entity_for(topic)
            if entity is None:  # not assigned by us; cannot happen with manual assignment
                continue
            offset = message.offset() or 0
            next_offsets[(topic, partition)] = max(next_offsets.get((topic, partition), 0), offset + 1)
            per_partition[(topic, partition)] += 1
            converted = convert(message)
            if isinstance(converted, Item):
                values[entity].append(converted.value)
                sources[entity].append(converted.source)
            else:
                assert isinstance(converted, Poison)
                poison[entity].append((converted.source, converted.record_id, converted.reason))
        if not next_offsets:
            return None
        entities = sorted(set(values) | set(poison))
        staging = Staging(self.cache, self._stats.run_id)
        watermarks = self._watermarks(consumer)
        try:
            for entity in entities:
                staging.add_items(entity, values[entity], sources[entity])
                staging.reject(entity, poison[entity])

            def record(cur: Any, counts: dict[str, EntityCounts]) -> None:
                progress.record_batch(
                    cur,
                    group_id=self.group_id,
                    run_id=self._stats.run_id,
                    next_offsets=next_offsets,
                    messages=per_partition,
                    watermarks=watermarks,
                    counts=counts,
                )

            # A poison message is kept aside and consumption goes on: no share threshold here (the
            # REST sync's "the feed looks broken, apply nothing" would stall the stream forever).
            counts = staging.commit(
                dict.fromkeys(entities, "incremental"),
                max_rejected_share=1.0,
                finish_run=False,
                in_transaction=record,
            )
        finally:
            staging.close()
        # Only now, with the batch durable in DuckDB, tell the group. If this fails the cache still
        # knows its offsets (kafka_offsets), and a re-delivery would change nothing anyway.
        try:
            consumer.commit(
                offsets=[TopicPartition(t, p, o) for (t, p), o in next_offsets.items()], asynchronous=False
            )
        except KafkaException as exc:
            logger.warning("offsets applied to the cache but not committed to the group: %s", exc)
        return BatchResult(
            messages=sum(per_partition.values()),
            rejected_by_transport=sum(len(p) for p in poison.values()),
            counts=counts,
            offsets=next_offsets,
        )


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
