"""The consumer against a real broker fed by the sandbox: equality with a REST full sync, poison
messages, out-of-order versions, null-value tombstones, offsets and lag."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import duckdb
import orjson

from kontur.cache import Cache
from kontur.kafka.ingest import KafkaIngest
from kontur.kafka.lag import live_lag
from kontur.kafka.options import ConsumeOptions
from kontur.kafka.topics import TOPICS
from kontur.queries.sync_health import kafka_lag as recorded_lag
from tests.support.waiting import eventually

from .conftest import KafkaWorld, duplicate_ids, table_differences, topic_end_offsets
from .helpers import consume_to_end, produce


def _query(path: Path, sql: str, params: list[object] | None = None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_snapshot_and_drift_end_equal_to_a_rest_full_sync(kafka_world: KafkaWorld, tmp_path: Path) -> None:
    path = tmp_path / "kafka.duckdb"
    stats = consume_to_end(kafka_world, "t-equal", path)

    assert stats.stopped_by == "caught up"
    assert stats.messages == topic_end_offsets(kafka_world.bootstrap) >= kafka_world.published
    assert table_differences(path, kafka_world.reference) == {}
    assert duplicate_ids(path) == {}
    premises = _query(path, "SELECT count(*) FROM premises")[0][0]
    assert premises == len(kafka_world.sandbox.admin().records("premises")) > 0
    # Progress: every partition applied to its end, recorded with the data, and a finished run.
    lag = recorded_lag(duckdb.connect(str(path), read_only=True), "t-equal")
    assert sorted(lag["topic"]) == sorted(TOPICS.values())
    assert int(lag["lag"].sum()) == 0
    assert int(lag["applied"].sum()) == stats.messages
    assert _query(path, "SELECT transport, status FROM sync_runs") == [("kafka", "succeeded")]
    live = {t.topic: t for t in live_lag(kafka_world.settings("t-equal"))}
    assert set(live) == set(TOPICS.values())
    assert all(t.lag == 0 and t.committed == t.high_watermark for t in live.values())


def test_poison_messages_are_kept_aside_and_consumption_goes_on(
    kafka_world: KafkaWorld, tmp_path: Path
) -> None:
    good_tombstone_id = 77_000_003  # never existed: deleting it changes nothing, but it is no poison
    positions = produce(
        kafka_world.bootstrap,
        [
            {"topic": "brusnika.leads", "key": b"77000001", "value": b'{"id": 77000001, "updated_at": '},
            {
                "topic": "brusnika.premises",
                "key": b"77000002",
                "value": orjson.dumps(
                    {"id": 77000002, "updated_at": "2030-01-01T00:00:00Z", "price": "cheap", "rooms": "two"}
                ),
            },
            {"topic": "brusnika.cities", "key": b"77000004", "value": b"[1, 2]"},
            {"topic": "brusnika.cities", "key": b"not-an-id", "value": None},
            {"topic": "brusnika.sections", "key": b"77000005", "value": b"  "},
            {
                "topic": "brusnika.cities",
                "key": str(good_tombstone_id).encode(),
                "value": None,
                "headers": [("updated_at", b"2030-01-01T00:00:00+00:00")],
            },
        ],
    )
    path = tmp_path / "kafka.duckdb"
    stats = consume_to_end(kafka_world, "t-poison", path)

    rejected = {
        source: (entity, record_id, reason)
        for source, entity, record_id, reason in _query(
            path, "SELECT source, entity, record_id, reason FROM rejected_records"
        )
    }
    sources = [f"{topic}/{partition}@{offset}" for topic, partition, offset in positions]
    assert set(sources[:5]) <= set(rejected)
    assert sources[5] not in rejected  # a null value is a tombstone, not poison
    assert rejected[sources[0]][0] == "leads"
    assert rejected[sources[0]][2].startswith("not JSON")
    assert rejected[sources[1]][0] == "premises"
    assert rejected[sources[1]][1] == 77000002
    assert "price" in rejected[sources[1]][2]
    assert "valid dictionary" in rejected[sources[2]][2]  # JSON, but not an object
    assert "tombstone" in rejected[sources[3]][2]
    assert rejected[sources[4]][:2] == ("sections", 77000005)
    assert "empty value" in rejected[sources[4]][2]
    assert stats.rejected >= 5
    # Consumption went on past them: the cache is still the sandbox's.
    assert table_differences(path, kafka_world.reference) == {}
    # Re-reading the same topics (a new session on the same cache) adds no second copy of them.
    again = consume_to_end(kafka_world, "t-poison", path)
    assert again.messages == 0
    assert _query(path, "SELECT count(*) FROM rejected_records")[0][0] == len(rejected)


def _city(record_id: int, updated_at: str, name: str) -> bytes:
    return orjson.dumps(
        {
            "id": record_id,
            "updated_at": updated_at,
            "deleted": False,
            "name": name,
            "long": "60.6",
            "lat": "56.8",
        }
    )


def test_older_versions_are_ignored_and_null_tombstones_delete(
    kafka_world: KafkaWorld, tmp_path: Path
) -> None:
    path = tmp_path / "kafka.duckdb"
    group = "t-order"
    consume_to_end(kafka_world, group, path)
    city = 77_000_010
    key = str(city).encode()

    # Newer then older in one batch: the older one loses.
    produce(
        kafka_world.bootstrap,
        [
            {"topic": "brusnika.cities", "key": key, "value": _city(city, "2030-01-02T00:00:00Z", "Новее")},
            {"topic": "brusnika.cities", "key": key, "value": _city(city, "2030-01-01T00:00:00Z", "Старее")},
        ],
    )
    stats = consume_to_end(kafka_world, group, path)
    assert stats.messages == 2  # resumed from this cache's offsets, not from the beginning
    assert _query(path, "SELECT name FROM cities WHERE id = ?", [city]) == [("Новее",)]

    # An older version in a later batch, and an older copy of a real premise: both ignored.
    premise = kafka_world.sandbox.admin().records("premises")[0]
    stale = {**premise, "updated_at": "2001-01-01T00:00:00Z", "price": premise["price"] + 1}
    produce(
        kafka_world.bootstrap,
        [
            {"topic": "brusnika.cities", "key": key, "value": _city(city, "2029-12-31T00:00:00Z", "Старше")},
            {"topic": "brusnika.premises", "key": str(premise["id"]).encode(), "value": orjson.dumps(stale)},
        ],
    )
    lag = {t.topic: t.lag for t in live_lag(kafka_world.settings(group))}
    assert lag["brusnika.cities"] == 1
    assert lag["brusnika.premises"] == 1
    stats = consume_to_end(kafka_world, group, path)
    assert (stats.messages, stats.ignored_older, stats.loaded) == (2, 2, 0)
    assert _query(path, "SELECT name FROM cities WHERE id = ?", [city]) == [("Новее",)]
    assert _query(path, "SELECT price FROM premises WHERE id = ?", [premise["id"]]) == [(premise["price"],)]

    # A null value is a tombstone; its time comes from the updated_at header.
    produce(
        kafka_world.bootstrap,
        [
            {
                "topic": "brusnika.cities",
                "key": key,
                "value": None,
                "headers": [("updated_at", b"2030-01-03T00:00:00+00:00")],
            }
        ],
    )
    stats = consume_to_end(kafka_world, group, path)
    assert (stats.messages, stats.deleted) == (1, 1)
    assert _query(path, "SELECT count(*) FROM cities WHERE id = ?", [city]) == [(0,)]
    assert table_differences(path, kafka_world.reference) == {}
    assert all(t.lag == 0 for t in live_lag(kafka_world.settings(group)))


def test_a_caught_up_consumer_applies_what_is_published_later(
    kafka_world: KafkaWorld, tmp_path: Path
) -> None:
    """Partitions read to their end are paused and fetched again now and then (a broker that answers
    a fetch at the end at once would otherwise keep client and broker spinning): what arrives later
    on them still reaches the cache, on a partition that has been paused, within seconds."""
    path = tmp_path / "live.duckdb"
    city = 77_000_020
    key = str(city).encode()
    with Cache(path) as cache:
        ingest = KafkaIngest(cache, kafka_world.settings("t-live", path), options=ConsumeOptions(linger=0.2))
        stop = threading.Event()
        thread = threading.Thread(target=ingest.run, args=(stop,), daemon=True)
        thread.start()

        def wait_for(condition: Callable[[], bool], what: str, seconds: float) -> None:
            def probe() -> bool:
                assert thread.is_alive(), ingest.stats.error
                return condition()

            eventually(probe, timeout=seconds, what=what, describe=lambda: ingest.stats)

        def cities(sql: str) -> list[tuple]:
            reader = cache.reader()
            try:
                return reader.execute(sql, [city]).fetchall()
            finally:
                reader.close()

        try:
            wait_for(lambda: ingest.stats.caught_up, "caught up", 120)
            # Idle at the end: every assigned partition has been paused at its end (and is fetched
            # again now and then), so what follows lands on a partition that was paused.
            wait_for(lambda: ingest.stats.paused_partitions == ingest.stats.partitions == 3 * len(TOPICS),
                     "every partition paused at its end", 60)  # fmt: skip
            later = _city(city, "2030-02-01T00:00:00Z", "Позже")
            produce(kafka_world.bootstrap, [{"topic": "brusnika.cities", "key": key, "value": later}])
            wait_for(lambda: cities("SELECT name FROM cities WHERE id = ?") == [("Позже",)], "upsert", 30)
            # And its tombstone (so the topics end as the sandbox's snapshot for the other tests).
            produce(
                kafka_world.bootstrap,
                [{"topic": "brusnika.cities", "key": key, "value": None,
                  "headers": [("updated_at", b"2030-02-02T00:00:00+00:00")]}],
            )  # fmt: skip
            wait_for(lambda: cities("SELECT count(*) FROM cities WHERE id = ?") == [(0,)], "tombstone", 30)
        finally:
            stop.set()
            thread.join(timeout=60)
    assert ingest.stats.stopped_by == "stop requested"
    assert ingest.stats.error is None
    assert table_differences(path, kafka_world.reference) == {}
