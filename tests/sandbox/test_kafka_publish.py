"""The sandbox as a Kafka producer (`--kafka`): records chosen by `malformed_ids` go out broken and are
sent again healthy when cleared; switching hostile mode on publishes the rewritten records; patches
and deletes are published. Against a real Kafka-protocol broker (noida-db)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from kontur.sandbox import hostile
from kontur.sandbox.kafka_publish import TOPICS
from kontur.sandbox.server import RunningSandbox
from tests.support.sandboxes import SandboxFactory
from tests.support.waiting import eventually

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def publishing(kafka_broker: str, module_sandboxes: SandboxFactory) -> RunningSandbox:
    return module_sandboxes(scale=0.005, seed=17, kafka=kafka_broker)


def latest(bootstrap: str, entity: str) -> dict[int, tuple[Any, list[tuple[str, bytes]]]]:
    """The last message per key of a list's topic: key -> (value or None, headers)."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "sandbox-tests", "enable.auto.commit": False}
    )
    try:
        topic = TOPICS[entity]
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions
        }
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        out: dict[int, tuple[Any, list[tuple[str, bytes]]]] = {}
        seen = dict.fromkeys(partitions, 0)
        while any(seen[p] < ends[p] for p in partitions):
            for message in consumer.consume(500, timeout=1):
                if message.error():
                    raise RuntimeError(message.error().str())
                value = message.value()
                out[int(message.key())] = (
                    orjson.loads(value) if value is not None else None,
                    message.headers() or [],
                )
                seen[message.partition()] = message.offset() + 1
        return out
    finally:
        consumer.close()


def test_malformed_ids_go_out_broken_and_healed_with_the_same_updated_at(publishing, kafka_broker):
    admin = publishing.admin()
    premise = admin.records("premises")[5]
    admin.set_faults(malformed_ids={"premises": {premise["id"]: "field"}})
    eventually(
        lambda: latest(kafka_broker, "premises")[premise["id"]][0]["price"] == "not a number",
        what="the broken copy on the topic",
    )
    assert latest(kafka_broker, "premises")[premise["id"]][0] == {**premise, "price": "not a number"}
    admin.clear_faults()
    eventually(
        lambda: latest(kafka_broker, "premises")[premise["id"]][0] == premise,
        what="the healthy copy on the topic again",
    )


def test_hostile_mode_switched_on_is_published(publishing, kafka_broker):
    admin = publishing.admin()
    admin.set_faults(hostile=True)
    try:
        served = {c["id"]: c for c in admin.records("cities")}
        assert any(hostile.is_hostile(c["name"]) for c in served.values())
        eventually(
            lambda: {k: v for k, (v, _) in latest(kafka_broker, "cities").items()} == served,
            what="hostile cities on the topic",
        )
    finally:
        admin.set_faults(hostile=False)


def test_patches_and_deletes_are_published(publishing, kafka_broker):
    admin = publishing.admin()
    building = admin.records("buildings")[0]
    patched = admin.patch_record("buildings", building["id"], total_apartment="123")
    eventually(
        lambda: latest(kafka_broker, "buildings")[building["id"]][0] == patched,
        what="the patched building on the topic",
    )
    slot = admin.records("time-slots")[0]
    tombstone = admin.delete_record("time-slots", slot["id"])

    def tombstoned() -> bool:
        value, headers = latest(kafka_broker, "time-slots")[slot["id"]]
        return value is None and dict(headers).get("updated_at") == tombstone["updated_at"].encode()

    eventually(tombstoned, what="the tombstone on the topic")
