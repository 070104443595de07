"""What the cache has applied from Kafka, per consumer group and partition, and the lag it implies.

`kafka_offsets` (created by the cache's migration 3) is written in the SAME transaction as each
batch's data, so it is exact: the next offset of every partition the cache has applied. The
consumer commits the same offsets to the group afterwards (at least once: a crash between the two
re-delivers, which changes nothing). It also records the broker's high watermark as last seen, so
the sync health page can show lag per topic from the cache file alone, without a broker round trip
on every page render.

Consumption runs themselves are rows of `sync_runs` with transport 'kafka' (one per consumer
session, counts accumulated per batch) and their per-entity totals in `sync_run_entities`.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb
import pandas as pd

from kontur.cache import Cache
from kontur.load import EntityCounts

from .topics import entity_for

Partition = tuple[str, int]  # (topic, partition)


def applied_offsets(cache: Cache, group_id: str) -> dict[Partition, int]:
    """The next offset per partition that this group's batches have applied to this cache file."""
    cur = cache.reader()
    try:
        rows = cur.execute(
            'SELECT topic, "partition", next_offset FROM kafka_offsets WHERE group_id = ?', [group_id]
        ).fetchall()
    finally:
        cur.close()
    return {(topic, int(partition)): int(offset) for topic, partition, offset in rows}


def record_batch(
    cur: duckdb.DuckDBPyConnection,
    *,
    group_id: str,
    run_id: int,
    next_offsets: Mapping[Partition, int],
    messages: Mapping[Partition, int],
    watermarks: Mapping[Partition, int],
    counts: Mapping[str, EntityCounts],
) -> None:
    """Inside the batch's transaction: partition offsets, and the consumer run's running totals."""
    # One statement for every partition of the batch (a statement per partition costs ms each).
    keys = list(next_offsets)
    cur.execute(
        'INSERT INTO kafka_offsets (group_id, topic, "partition", next_offset, high_watermark, '
        "messages, updated_at, watermark_at) "
        "SELECT ?, u.topic, u.part, u.next_offset, u.high, u.messages, current_timestamp, current_timestamp "
        "FROM (SELECT unnest(?::VARCHAR[]) AS topic, unnest(?::INTEGER[]) AS part, "
        "unnest(?::BIGINT[]) AS next_offset, unnest(?::BIGINT[]) AS high, unnest(?::BIGINT[]) AS messages) u "
        'ON CONFLICT (group_id, topic, "partition") DO UPDATE SET '
        "next_offset = greatest(kafka_offsets.next_offset, excluded.next_offset), "
        "high_watermark = coalesce(excluded.high_watermark, kafka_offsets.high_watermark), "
        "messages = kafka_offsets.messages + excluded.messages, updated_at = excluded.updated_at, "
        "watermark_at = CASE WHEN excluded.high_watermark IS NULL THEN kafka_offsets.watermark_at "
        "ELSE excluded.watermark_at END",
        [
            group_id,
            [topic for topic, _ in keys],
            [partition for _, partition in keys],
            [next_offsets[k] for k in keys],
            [watermarks.get(k) for k in keys],
            [messages.get(k, 0) for k in keys],
        ],
    )
    # Per-entity running totals, one statement for every entity of the batch.
    rows = list(counts.values())
    if rows:
        cur.execute(
            "INSERT INTO sync_run_entities (run_id, entity, mode, pages, received, loaded, deleted, "
            "rejected, high_water) SELECT ?, u.entity, 'incremental', 1, u.received, u.loaded, u.deleted, "
            "u.rejected, u.high_water FROM (SELECT unnest(?::VARCHAR[]) AS entity, "
            "unnest(?::BIGINT[]) AS received, unnest(?::BIGINT[]) AS loaded, unnest(?::BIGINT[]) AS deleted, "
            "unnest(?::BIGINT[]) AS rejected, unnest(?::TIMESTAMPTZ[]) AS high_water) u "
            "ON CONFLICT (run_id, entity) DO UPDATE SET pages = sync_run_entities.pages + 1, "
            "received = sync_run_entities.received + excluded.received, "
            "loaded = sync_run_entities.loaded + excluded.loaded, "
            "deleted = sync_run_entities.deleted + excluded.deleted, "
            "rejected = sync_run_entities.rejected + excluded.rejected, "
            "high_water = greatest(sync_run_entities.high_water, excluded.high_water)",
            [
                run_id,
                [c.entity for c in rows],
                [c.received for c in rows],
                [c.loaded for c in rows],
                [c.deleted for c in rows],
                [c.rejected for c in rows],
                [c.high_water for c in rows],
            ],
        )
    cur.execute(
        "UPDATE sync_runs SET loaded = loaded + ?, deleted = deleted + ?, rejected = rejected + ? "
        "WHERE id = ?",
        [
            sum(c.loaded for c in rows),
            sum(c.deleted for c in rows),
            sum(c.rejected for c in rows),
            run_id,
        ],
    )
    # A batch re-delivered after a crash rejects its poison messages again: keep the first record of
    # each (a Kafka source names one message exactly: topic/partition@offset). Only a batch that
    # rejected something can have added a duplicate.
    if any(c.rejected for c in rows):
        cur.execute(
            "DELETE FROM rejected_records r WHERE r.run_id = ? AND EXISTS (SELECT 1 FROM rejected_records o "
            "WHERE o.entity = r.entity AND o.source = r.source AND o.id < r.id)",
            [run_id],
        )


def record_watermarks(cache: Cache, group_id: str, watermarks: Mapping[Partition, int]) -> None:
    """While idle (no batch to carry them), keep the seen high watermarks fresh for the lag display."""
    if not watermarks:
        return
    cur = cache.cursor()
    try:
        with cache.write_lock:
            for (topic, partition), high in watermarks.items():
                cur.execute(
                    "UPDATE kafka_offsets SET high_watermark = ?, watermark_at = current_timestamp "
                    'WHERE group_id = ? AND topic = ? AND "partition" = ?',
                    [high, group_id, topic, partition],
                )
    finally:
        cur.close()


def finish_run(cache: Cache, run_id: int, *, error: str | None = None) -> None:
    """A consumer session ended: cleanly (succeeded) or with an error."""
    if error is not None:
        cache.fail_run(run_id, error)
        return
    cur = cache.cursor()
    try:
        cur.execute(
            "UPDATE sync_runs SET status = 'succeeded', finished_at = current_timestamp WHERE id = ?",
            [run_id],
        )
    finally:
        cur.close()


def recorded_lag(con: duckdb.DuckDBPyConnection, group_id: str | None = None) -> pd.DataFrame:
    """Consumer lag per topic as the cache recorded it: high watermark - applied (= committed) offset,
    summed over partitions. Columns: group_id, topic, entity, partitions, applied, high_watermark,
    lag, messages, updated_at, watermark_at. Empty when the cache has never consumed from Kafka."""
    present = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'kafka_offsets'"
    ).fetchone()
    if not present or not present[0]:
        return pd.DataFrame(
            columns=["group_id", "topic", "entity", "partitions", "applied", "high_watermark", "lag",
                     "messages", "updated_at", "watermark_at"]
        )  # fmt: skip
    df = con.execute(
        "SELECT group_id, topic, count(*) AS partitions, sum(next_offset) AS applied, "
        "sum(coalesce(high_watermark, next_offset)) AS high_watermark, "
        "sum(greatest(coalesce(high_watermark, next_offset) - next_offset, 0)) AS lag, "
        "sum(messages) AS messages, max(updated_at) AS updated_at, min(watermark_at) AS watermark_at "
        "FROM kafka_offsets WHERE ?::VARCHAR IS NULL OR group_id = ? "
        "GROUP BY group_id, topic ORDER BY group_id, topic",
        [group_id, group_id],
    ).df()
    df.insert(2, "entity", [entity_for(t) for t in df["topic"]])
    return df
