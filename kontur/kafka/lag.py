"""Live consumer lag per topic, asked from the broker: high watermark - the group's committed offset.

The sync health page shows the lag the consumer recorded in the cache
(`kontur.queries.sync_health.kafka_lag`, no broker round trip per render); this is the authoritative
figure for the CLI, tests and monitoring.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from confluent_kafka import Consumer, TopicPartition

from .topics import TOPICS, entity_for

if TYPE_CHECKING:
    from kontur.config import Settings


@dataclass(frozen=True)
class TopicLag:
    topic: str
    entity: str | None
    partitions: int
    committed: int  # sum over partitions (a partition with no commit counts from its low watermark)
    high_watermark: int
    lag: int


def live_lag(settings: Settings, *, group_id: str | None = None, timeout: float = 10.0) -> list[TopicLag]:
    config = dict(settings.kafka_client_config())
    if group_id is not None:
        config["group.id"] = group_id
    config.update({"enable.auto.commit": False, "client.id": "kontur-lag"})
    consumer = Consumer(config)
    try:
        metadata = consumer.list_topics(timeout=timeout)
        result = []
        for topic in TOPICS.values():
            if topic not in metadata.topics:
                continue
            parts = [TopicPartition(topic, p) for p in sorted(metadata.topics[topic].partitions)]
            committed = consumer.committed(parts, timeout=timeout)
            total_committed = total_high = total_lag = 0
            for tp in committed:
                low, high = consumer.get_watermark_offsets(
                    TopicPartition(topic, tp.partition), timeout=timeout
                )
                position = tp.offset if tp.offset >= 0 else low
                total_committed += position
                total_high += high
                total_lag += max(high - position, 0)
            result.append(
                TopicLag(topic, entity_for(topic), len(parts), total_committed, total_high, total_lag)
            )
        return result
    finally:
        consumer.close()
