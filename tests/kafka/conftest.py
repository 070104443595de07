"""Kafka fixtures: a real Kafka-protocol broker (noida-db's bundled binary) started once per session,
and one sandbox publishing its snapshot and drift into it (`--kafka`).

Every test reads the same seven topics with its own consumer group and its own cache file. Tests that
inject messages of their own (poison, out-of-order versions) keep the topics' net content equal to the
sandbox's: poison loads nothing, older versions are ignored, and a record invented for a test is
tombstoned again before the test ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from kontur.cache import Cache
from kontur.config import Settings
from kontur.kafka.topics import TOPICS
from kontur.sandbox.server import RunningSandbox, start_sandbox
from kontur.schema import TABLES
from kontur.sync import run_sync
from tests.support.kafka_broker import Broker
from tests.support.waiting import eventually

KAFKA_SCALE = 0.02
KAFKA_SEED = 20261127
DRIFT_CHANGES = 400


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of the session's broker."""
    broker = Broker(tmp_path_factory.mktemp("kafka-data"))
    try:
        yield broker.start().bootstrap
    finally:
        broker.stop()


@dataclass
class KafkaWorld:
    sandbox: RunningSandbox
    bootstrap: str
    published: int  # messages the sandbox published (snapshot + drift)
    reference: Path  # a REST full sync of the same sandbox after the drift

    def settings(self, group: str, cache: Path | None = None) -> Settings:
        return Settings(
            api_url=self.sandbox.api_url,
            api_token=self.sandbox.token,
            kafka_bootstrap_servers=self.bootstrap,
            kafka_group_id=group,
            cache_path=cache or Path("unused.duckdb"),
        )


def topic_end_offsets(bootstrap: str) -> int:
    """Sum of the seven topics' high watermarks: how many messages the broker holds."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "kontur-tests-watermarks"})
    try:
        metadata = consumer.list_topics(timeout=10)
        total = 0
        for topic in TOPICS.values():
            for partition in metadata.topics[topic].partitions:
                total += consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)[1]
        return total
    finally:
        consumer.close()


def wait_for_messages(bootstrap: str, at_least: int, timeout: float = 60) -> int:
    """The sandbox's producer sends asynchronously: wait until the broker holds them all."""
    eventually(
        lambda: topic_end_offsets(bootstrap) >= at_least,
        timeout=timeout,
        what=f"the broker holds {at_least} messages",
        describe=lambda: topic_end_offsets(bootstrap),
    )
    return topic_end_offsets(bootstrap)


@pytest.fixture(scope="session")
def kafka_world(kafka_broker: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaWorld]:
    running = start_sandbox(scale=KAFKA_SCALE, seed=KAFKA_SEED, extra_args=["--kafka", kafka_broker])
    try:
        admin = running.admin()
        snapshot = sum(admin.stats()["live"].values())
        drift = admin.drift(DRIFT_CHANGES, seed=3)
        published = snapshot + sum(drift.values())
        assert wait_for_messages(kafka_broker, published) == published
        reference = tmp_path_factory.mktemp("kafka-ref") / "rest.duckdb"
        world = KafkaWorld(running, kafka_broker, published, reference)
        with Cache(reference) as cache:
            result = run_sync(cache, world.settings("unused"), mode="full")
            assert result.ok, result.error
        admin.close()
        yield world
    finally:
        running.stop()


def table_differences(a: Path, b: Path) -> dict[str, tuple[int, int]]:
    """Per inbound table: (rows only in a, rows only in b); empty dict when the caches are equal."""
    con = duckdb.connect()
    try:
        con.execute("ATTACH ? AS a (READ_ONLY)", [str(a)])
        con.execute("ATTACH ? AS b (READ_ONLY)", [str(b)])
        out = {}
        for table in TABLES.values():
            counts = []
            for left, right in (("a", "b"), ("b", "a")):
                row = con.execute(
                    f"SELECT count(*) FROM (FROM {left}.{table} EXCEPT ALL FROM {right}.{table})"  # noqa: S608
                ).fetchone()
                counts.append(int(row[0]) if row else -1)
            if any(counts):
                out[table] = (counts[0], counts[1])
        return out
    finally:
        con.close()


def duplicate_ids(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for table in TABLES.values():
            row = con.execute(f"SELECT count(*) - count(DISTINCT id) FROM {table}").fetchone()  # noqa: S608
            if row and row[0]:
                out[table] = int(row[0])
        return out
    finally:
        con.close()
