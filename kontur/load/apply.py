"""Applying one entity's staged rows to its cache table, inside the load's one transaction.

full: the table becomes exactly the staged snapshot, except that the last good row of a record whose
incoming copy was rejected in this run is kept (it is still in the snapshot; only this copy was
malformed). When a rejected copy's `id` cannot be read, that row cannot be told apart from a record
deleted upstream: the entity's snapshot deletions are then withheld for the run (rows the snapshot no
longer holds stay until a full load without such rejects) and the run says so in its note.
incremental: staged records replace rows whose `updated_at` is not newer, tombstones delete rows not
newer than themselves, older arrivals are ignored.

The REST high-water mark (where the next incremental resumes, `updated_since` being strictly later)
never passes a record rejected in this run: it stops 1 µs before the oldest rejected copy's
`updated_at` (or the stamp of the item before it in the feed, when its own cannot be read; or where
the run started, when neither is known), so the next run fetches it again until it loads or a newer
version supersedes it.

All SQL text is built from `kontur.schema`'s constant tables; values are parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import duckdb

from kontur.cache import runs
from kontur.schema import COLUMNS, TABLES

from .types import EntityCounts, EntityStats, KafkaFedCacheError, Mode

_TICK = timedelta(microseconds=1)  # DuckDB's TIMESTAMPTZ resolution


def kafka_groups(cur: duckdb.DuckDBPyConnection) -> list[str]:
    """Consumer groups that have fed this cache from Kafka (none: the cache is REST-only)."""
    rows = cur.execute("SELECT DISTINCT group_id FROM kafka_offsets ORDER BY 1").fetchall()
    return [row[0] for row in rows]


def refuse_full_if_kafka_fed(cur: duckdb.DuckDBPyConnection) -> None:
    """A full load is refused on a cache fed from Kafka (`kafka_offsets` has rows): the snapshot would
    replace records the stream already delivered in newer versions, and delete those it delivered
    after the snapshot was read, and the stream would not send them again."""
    groups = kafka_groups(cur)
    if groups:
        raise KafkaFedCacheError(
            f"this cache is fed from Kafka (consumer group {', '.join(groups)}): a full REST sync would "
            "put back older versions of records the stream already updated and delete records it "
            "delivered after the snapshot was read. Only incremental REST syncs may run on it (after a "
            "REST full sync made before consuming); for a fresh snapshot use a new cache file."
        )


def next_mark(
    mode: Mode, previous: datetime | None, staged_max: datetime | None, stats: EntityStats
) -> datetime | None:
    """The REST high-water mark after this run (see the module's docstring)."""
    if mode == "full":
        mark = staged_max if staged_max is not None else previous
    else:
        mark = staged_max if previous is None else max(previous, staged_max or previous)
    if stats.retry_unbounded:
        # A rejected copy with no stamp to go by: resume where this run started (a full run on a
        # mark-less entity leaves none, so the next run is full again).
        if previous is None:
            return None
        mark = previous if mark is None else min(previous, mark)
    if stats.retry_from is not None:
        hold = stats.retry_from - _TICK
        mark = hold if mark is None else min(mark, hold)
    return mark


def apply_entity(
    cur: duckdb.DuckDBPyConnection,
    run_id: int,
    entity: str,
    stage: str,
    stats: EntityStats,
    mode: Mode,
    *,
    move_mark: bool,
) -> EntityCounts:
    table = TABLES[entity]
    cols = ", ".join(f'"{name}"' for name, _ in COLUMNS[entity])
    s_cols = ", ".join(f's."{name}"' for name, _ in COLUMNS[entity])

    def scalar(sql: str, params: Sequence[Any] = ()) -> Any:
        row = cur.execute(sql, list(params)).fetchone()
        return row[0] if row else None

    def insert_new(source: str) -> int:
        return int(scalar(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {source} WHERE NOT deleted"))  # noqa: S608

    # Latest version per id wins (a record changed mid-crawl can appear twice). Deduplicate only
    # when needed: on millions of rows the window costs more than the check. One scan for the
    # three figures (each statement costs milliseconds, which add up over many small batches).
    staged_row = cur.execute(
        f"SELECT count(*), count(DISTINCT id), max(updated_at) FROM {stage}"  # noqa: S608
    ).fetchone()
    assert staged_row is not None
    staged, distinct, staged_max = int(staged_row[0]), int(staged_row[1]), staged_row[2]
    if distinct < staged:
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE {stage}_dedup AS SELECT * FROM {stage} "  # noqa: S608
            "QUALIFY row_number() OVER (PARTITION BY id ORDER BY updated_at DESC, deleted DESC) = 1"
        )
        source = f"{stage}_dedup"
    else:
        source = stage

    ignored = withheld = 0
    note = None
    if mode == "full":
        # Keep the current row of a record rejected in this run: it is still in the snapshot, only
        # this version of it was malformed.
        cur.execute(
            "CREATE OR REPLACE TEMP TABLE _keep AS SELECT DISTINCT record_id AS id "  # noqa: S608
            "FROM rejected_records WHERE run_id = ? AND entity = ? AND record_id IS NOT NULL "
            f"AND record_id NOT IN (SELECT id FROM {source} WHERE NOT deleted)",
            [run_id, entity],
        )
        deleted = 0
        if int(scalar(f"SELECT count(*) FROM {table}")):  # noqa: S608
            gone = int(
                scalar(
                    f"SELECT count(*) FROM {table} t WHERE NOT EXISTS "  # noqa: S608
                    f"(SELECT 1 FROM {source} s WHERE s.id = t.id AND NOT s.deleted) "
                    "AND t.id NOT IN (SELECT id FROM _keep)"
                )
            )
            if stats.unreadable_ids:
                cur.execute(f"DELETE FROM {table} WHERE id IN (SELECT id FROM {source} WHERE NOT deleted)")  # noqa: S608
                withheld = gone
            else:
                cur.execute(f"DELETE FROM {table} WHERE id NOT IN (SELECT id FROM _keep)")  # noqa: S608
                deleted = gone
        if stats.unreadable_ids:
            note = (
                f"snapshot deletions withheld: {stats.unreadable_ids} rejected record(s) had no readable "
                f"id, so a deleted record could not be told from a malformed one; {withheld} row(s) the "
                "snapshot no longer holds were kept until a full sync without such rejects"
            )
        loaded = insert_new(source)
    elif staged == 0:
        loaded = deleted = 0
    elif not int(scalar(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1)")):  # noqa: S608
        # Nothing held yet (a new cache reading the topics from the start): every record is new,
        # so append without joining; tombstones of records never held change nothing.
        loaded, deleted = insert_new(source), 0
    elif not int(scalar(f"SELECT count(*) FROM {source} s SEMI JOIN {table} t ON t.id = s.id")):  # noqa: S608
        # No incoming id is held yet (the common case while a new cache catches up on the topics):
        # a semi-join's count says so without building the merge table; append as is.
        loaded, deleted = insert_new(source), 0
    else:
        # Rows where the incoming version is not older than what we hold (or is new to us).
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE _win AS SELECT s.*, t.id IS NOT NULL AS existed "  # noqa: S608
            f"FROM {source} s LEFT JOIN (SELECT id, updated_at FROM {table}) t ON t.id = s.id "
            "WHERE t.id IS NULL OR s.updated_at >= t.updated_at"
        )
        win_row = cur.execute(
            "SELECT count(*), count(*) FILTER (WHERE existed), "
            "count(*) FILTER (WHERE existed AND deleted) FROM _win"
        ).fetchone()
        assert win_row is not None
        won, replaced, deleted = int(win_row[0]), int(win_row[1]), int(win_row[2])
        if replaced:
            # Only when some incoming record is already held: the DELETE scans the whole table,
            # which a batch of records all new to us (the common case while catching up) skips.
            cur.execute(f"DELETE FROM {table} WHERE id IN (SELECT id FROM _win WHERE existed)")  # noqa: S608
        loaded = int(scalar(f"INSERT INTO {table} ({cols}) SELECT {s_cols} FROM _win s WHERE NOT s.deleted"))  # noqa: S608
        ignored = distinct - won

    if move_mark:
        mark = next_mark(mode, runs.high_water(cur, entity), staged_max, stats)
        runs.set_state(cur, entity, run_id, mark, move_mark=True)
    else:
        # The Kafka consumer: records when the entity last changed but leaves the mark alone (it is
        # where a REST incremental resumes, and a stream batch's newest updated_at is no promise that
        # everything older has arrived: other partitions may lag behind).
        mark = staged_max
        if staged:
            runs.set_state(cur, entity, run_id, None, move_mark=False)
    return EntityCounts(
        entity=entity,
        mode=mode,
        pages=stats.pages,
        received=stats.received,
        loaded=loaded,
        deleted=deleted,
        rejected=stats.rejected,
        ignored_older=ignored,
        high_water=mark,
        note=note,
        withheld=withheld,
    )
