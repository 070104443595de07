"""Small helpers shared by the Kafka tests: run a consumer to the end, produce test messages."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

from kontur.cache import Cache
from kontur.kafka.ingest import KafkaIngest
from kontur.kafka.options import ConsumeOptions, ConsumeStats

from .conftest import KafkaWorld


def consume_to_end(world: KafkaWorld, group: str, path: Path, **options: Any) -> ConsumeStats:
    """One consumer session on `path` that stops once every partition is read to its end."""
    with Cache(path) as cache:
        ingest = KafkaIngest(
            cache, world.settings(group, path), options=ConsumeOptions(until_caught_up=True, **options)
        )
        return ingest.run(threading.Event())


def produce(bootstrap: str, messages: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
    """Produce messages (topic, key, value, optional headers) and return (topic, partition, offset)
    of each, in order, once the broker has them all."""
    producer = Producer({"bootstrap.servers": bootstrap})
    delivered: dict[int, tuple[str, int, int]] = {}
    errors: list[str] = []

    def on_delivery(index: int) -> Any:
        def callback(error: Any, message: Any) -> None:
            if error is not None:
                errors.append(str(error))
            else:
                delivered[index] = (message.topic(), message.partition(), message.offset())

        return callback

    for index, m in enumerate(messages):
        producer.produce(
            m["topic"], key=m.get("key"), value=m.get("value"), headers=m.get("headers"),
            on_delivery=on_delivery(index),
        )  # fmt: skip
        # One at a time keeps the order of messages for the same key beyond doubt.
        producer.flush(30)
    assert not errors, errors
    return [delivered[i] for i in range(len(messages))]
