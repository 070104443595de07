"""What the cache has applied from Kafka, per consumer group and partition, and the lag it implies.

`kafka_offsets` (created by the cache's migration 3) is written in the SAME transaction as each
batch's data, so it is exact: the next offset of every partition the cache has applied. The
consumer commits the same offsets to the group afterwards (at least once: a crash between the two
re-delivers, which changes nothing). It also records the broker's high watermark as last seen, so
the sync health page can show lag per topic from the cache file alone, without a broker round trip
on every page render (`kontur.queries.sync_health.kafka_lag`).

Consumption runs themselves are rows of `sync_runs` with transport 'kafka' (one per consumer
session, counts accumulated per batch) and their per-entity totals in `sync_run_entities`.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb

from kontur.cache import Cache, runs
from kontur.load import EntityCounts

Partition = tuple[str, int]  # (topic, partition)


def applied_offsets(cache: Cache, group_id: str) -> dict[Partition, int]:
    """The next offset per partition that this group's batches have applied to this cache file."""
    with cache.reader() as cur:
        rows = cur.execute(
            'SELECT topic, "partition", next_offset FROM kafka_offsets WHERE group_id = ?', [group_id]
        ).fetchall()
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
    rows = list(counts.values())
    runs.add_to_session(cur, run_id, rows)
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
    """While idle (no batch to carry them), keep the seen high watermarks fresh for the lag display
    (and for the freshness line: a caught-up consumer confirms it is at the end, see
    kontur.queries.sync_health.freshness)."""
    if not watermarks:
        return
    with cache.transaction() as cur:
        cur.executemany(
            "UPDATE kafka_offsets SET high_watermark = ?, watermark_at = current_timestamp "
            'WHERE group_id = ? AND topic = ? AND "partition" = ?',
            [[high, group_id, topic, partition] for (topic, partition), high in watermarks.items()],
        )


def finish_run(cache: Cache, run_id: int, *, error: str | None = None) -> None:
    """A consumer session ended: cleanly (succeeded) or with an error."""
    with cache.cursor() as cur:
        if error is not None:
            runs.fail_run(cur, run_id, error)
        else:
            runs.finish_session(cur, run_id)
