"""The sandbox's Kafka producer (`python -m kontur.sandbox --kafka BOOTSTRAP`): publishes the
snapshot of every list at start (and again after an admin reset), then every change the store
appends to a feed (drift, bookings, withdrawals), to the topics of contract section 6.

Key: the record's id as a decimal string; value: the record's JSON exactly as the REST item, or null
for a tombstone. A null value has no `updated_at`, so tombstones carry it in an `updated_at` header
(exact to the microsecond; the message timestamp only has milliseconds) — the consumer falls back to
the message timestamp for producers that do not set it.

Hooks run on the server's event loop; `produce()` only queues (librdkafka sends from its own thread),
so a burst of drift does not stall requests.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from kontur.models import ENTITIES

from . import render
from .faults import Faults, as_served
from .store import Store

logger = logging.getLogger("kontur.sandbox.kafka")

DEFAULT_PARTITIONS = 3
# Contract section 6: one topic per list. Spelled here, not imported from kontur.kafka: the sandbox
# stands for Brusnika and depends on nothing of Kontur but the wire models.
TOPICS: dict[str, str] = {entity: f"brusnika.{entity}" for entity in ENTITIES}


def ensure_topics(bootstrap: str, partitions: int = DEFAULT_PARTITIONS, timeout: float = 30.0) -> None:
    """Create the seven topics when missing (compacted: the latest value per key is the state, which
    is what a new cache replica reads to materialise everything)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    existing = admin.list_topics(timeout=timeout).topics
    wanted = [
        NewTopic(topic, num_partitions=partitions, replication_factor=1, config={"cleanup.policy": "compact"})
        for topic in TOPICS.values()
        if topic not in existing
    ]
    if not wanted:
        return
    for topic, future in admin.create_topics(wanted, operation_timeout=timeout).items():
        try:
            future.result(timeout)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
        logger.info("created topic %s", topic)


class KafkaPublisher:
    """Follows a Store's feeds into Kafka. `start()` publishes the snapshot and attaches the hook."""

    def __init__(self, store: Store, bootstrap: str, *, partitions: int = DEFAULT_PARTITIONS,
                 config: dict[str, Any] | None = None, faults: Faults | None = None) -> None:  # fmt: skip
        self.store = store
        self.faults = faults or Faults()  # malformed records go out broken, as on the REST lists
        self.bootstrap = bootstrap
        self.partitions = partitions
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "client.id": "brusnika-sandbox",
                "linger.ms": 20,
                "batch.num.messages": 10_000,
                "queue.buffering.max.messages": 1_000_000,
                "queue.buffering.max.kbytes": 1_048_576,
                **(config or {}),
            }
        )
        self._lock = threading.Lock()
        self.published = 0
        self.failed = 0
        self._attached = False

    def start(self, timeout: float = 120.0) -> int:
        """Create topics, publish every list's current state, then follow changes. Returns how many
        snapshot messages were delivered."""
        ensure_topics(self.bootstrap, self.partitions)
        count = self.publish_snapshot()
        self.flush(timeout)
        self.store.hooks.append(self._on_change)
        self._attached = True
        return count

    def publish_snapshot(self) -> int:
        """The current entry of every record (live or tombstone), feed order, every list."""
        count = 0
        for entity in ENTITIES:
            log = self.store.feeds[entity]
            for position, record_id, body in log.iter_from(0):
                self._produce(entity, record_id, log.ts[position], body)
                count += 1
        return count

    def republish(self, entity: str, record_id: int) -> None:
        """Send a record's current entry again (same updated_at), as it is served now: after its
        malformation was switched on or off."""
        log = self.store.feeds[entity]
        position = log.position_of(record_id)
        if position >= 0:
            body = log.body[position] if log.live[position] else None
            self._produce(entity, record_id, log.ts[position], body)

    def _on_change(self, entity: str | None, position: int | None) -> None:
        if entity is None or position is None:
            # A reset regenerates the world: publish it whole again. (A consumer keeps any newer
            # versions it holds: older-never-overwrites-newer applies to replays too.)
            self.publish_snapshot()
            return
        log = self.store.feeds[entity]
        # Read now: the entry's flags change when the record changes again.
        tombstone = not log.live[position]
        self._produce(entity, log.ids[position], log.ts[position], None if tombstone else log.body[position])

    def _produce(self, entity: str, record_id: int, ts_us: int, body: bytes | None) -> None:
        if body is not None:
            body = as_served(self.faults, self.store.seed, entity, record_id, body)
        headers = None if body is not None else [("updated_at", render.ts_string(ts_us).encode())]
        while True:
            try:
                self._producer.produce(
                    TOPICS[entity],
                    key=str(record_id).encode(),
                    value=body,
                    timestamp=ts_us // 1000,
                    headers=headers,
                    on_delivery=self._delivered,
                )
                break
            except BufferError:
                # Local queue full (a huge snapshot): let librdkafka send some, then retry.
                self._producer.poll(0.05)
        self._producer.poll(0)

    def _delivered(self, error: KafkaError | None, _message: Any) -> None:
        with self._lock:
            if error is None:
                self.published += 1
            else:
                self.failed += 1
                logger.warning("Kafka delivery failed: %s", error.str())

    def flush(self, timeout: float = 30.0) -> int:
        """Wait for queued messages; returns how many are still undelivered."""
        deadline = time.monotonic() + timeout
        remaining = self._producer.flush(timeout)
        while remaining and time.monotonic() < deadline:
            remaining = self._producer.flush(max(0.0, deadline - time.monotonic()))
        return int(remaining)

    def close(self, timeout: float = 30.0) -> None:
        if self._attached:
            self.store.hooks.remove(self._on_change)
            self._attached = False
        left = self.flush(timeout)
        if left:
            logger.warning("%d Kafka messages were not delivered before shutdown", left)
