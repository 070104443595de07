"""Sync health page and the freshness line: what the cache holds per entity, how fresh it is, runs,
rejected records, restarts of the Kafka consumer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from kontur.schema import TABLES, TOPIC_PREFIX

from ._db import Conn, frame, has_table, scalar


def entities(con: Conn) -> pd.DataFrame:
    """Per inbound entity: rows, last_success_at, age_seconds, last_status (of the latest run that
    touched it), last_run_id, last_loaded, last_rejected."""
    present = [(entity, table) for entity, table in TABLES.items() if has_table(con, table)]
    if not present:
        return pd.DataFrame(columns=["entity", "rows"])
    # One UNION over our own constant table names; no values in the text.
    counts = " UNION ALL ".join(
        f"SELECT '{entity}' AS entity, {i} AS ord, count(*) AS rows FROM {table}"  # noqa: S608
        for i, (entity, table) in enumerate(present)
    )
    if not has_table(con, "sync_state"):
        return frame(con, f"SELECT entity, rows FROM ({counts}) ORDER BY ord")  # noqa: S608
    return frame(
        con,
        f"""
        WITH c AS ({counts}),
        last AS (
            SELECT e.entity, r.id AS run_id, r.status, e.loaded, e.rejected, r.started_at
            FROM sync_run_entities e JOIN sync_runs r ON r.id = e.run_id
            QUALIFY row_number() OVER (PARTITION BY e.entity ORDER BY r.id DESC) = 1
        )
        SELECT c.entity, c.rows, s.last_success_at,
               date_diff('second', s.last_success_at, now()) AS age_seconds,
               last.status AS last_status, last.run_id AS last_run_id, last.loaded AS last_loaded,
               last.rejected AS last_rejected, s.high_water
        FROM c
        LEFT JOIN sync_state s ON s.entity = c.entity
        LEFT JOIN last ON last.entity = c.entity
        ORDER BY c.ord
        """,  # noqa: S608 -- table names from kontur.schema.TABLES; no values in the text
    )


def runs(con: Conn, limit: int = 50) -> pd.DataFrame:
    """The latest sync runs, newest first."""
    if not has_table(con, "sync_runs"):
        return pd.DataFrame()
    return frame(
        con,
        """
        SELECT id, transport, mode, trigger, status, started_at, finished_at,
               date_diff('millisecond', started_at, finished_at) / 1000.0 AS seconds,
               loaded, deleted, rejected, error, note
        FROM sync_runs ORDER BY id DESC LIMIT ?
        """,
        [limit],
    )


def rejected(con: Conn, limit: int = 200) -> pd.DataFrame:
    """The latest rejected records with their reasons, newest first."""
    if not has_table(con, "rejected_records"):
        return pd.DataFrame()
    return frame(
        con,
        """
        SELECT "at", entity, record_id, reason, source, run_id, raw::VARCHAR AS raw
        FROM rejected_records ORDER BY "at" DESC, id DESC LIMIT ?
        """,
        [limit],
    )


def rejected_count(con: Conn) -> int:
    if not has_table(con, "rejected_records"):
        return 0
    row = con.execute("SELECT count(*) FROM rejected_records").fetchone()
    return int(row[0]) if row else 0


def kafka_lag(con: Conn, group_id: str | None = None) -> pd.DataFrame:
    """Consumer lag per topic as the cache recorded it: high watermark - applied (= committed) offset,
    summed over partitions. Columns: group_id, topic, entity, partitions, applied, high_watermark,
    lag, messages, updated_at, watermark_at. Empty when the cache has never consumed from Kafka."""
    if not has_table(con, "kafka_offsets"):
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
    df.insert(2, "entity", [t.removeprefix(TOPIC_PREFIX) if t.removeprefix(TOPIC_PREFIX) in TABLES else None
                            for t in df["topic"]])  # fmt: skip
    return df


def consumer_restarts(con: Conn, limit: int = 50) -> pd.DataFrame:
    """Restarts of the dashboard's Kafka consumer after an error, newest first."""
    if not has_table(con, "consumer_restarts"):
        return pd.DataFrame(columns=["at", "group_id", "error", "attempt", "delay_seconds", "failed_run_id"])
    return frame(
        con,
        'SELECT "at", group_id, error, attempt, delay_seconds, failed_run_id FROM consumer_restarts '
        "ORDER BY id DESC LIMIT ?",
        [limit],
    )


@dataclass(frozen=True)
class Freshness:
    """How fresh the cache is, from the cache file alone (the freshness line on every page).

    `fresh_at`: the newest moment the cache is known to have been up to date: the end of the last REST
    run that succeeded, or the last Kafka batch applied (for a consumer with no lag, also its last look
    at the topics' ends, which it records every few seconds while idle). `via`: which of the two.
    `failed_at`/`error`: the newest failure not followed by a success of the same path: a REST run
    that failed, or a Kafka session that stopped on an error (restarted or not) with nothing applied or
    confirmed since. None/None: nothing is failing."""

    fresh_at: datetime | None
    via: str | None  # "rest" | "kafka"
    failed_at: datetime | None
    error: str | None

    def age_seconds(self, now: datetime) -> float | None:
        return None if self.fresh_at is None else max(0.0, (now - self.fresh_at).total_seconds())

    def stale(self, now: datetime, stale_after: float) -> bool:
        age = self.age_seconds(now)
        return age is None or age > stale_after


def freshness(con: Conn) -> Freshness:
    if not has_table(con, "sync_runs"):
        return Freshness(None, None, None, None)
    rest_ok = scalar(
        con, "SELECT max(finished_at) FROM sync_runs WHERE transport = 'rest' AND status = 'succeeded'"
    )
    kafka_ok = None
    if has_table(con, "kafka_offsets"):
        kafka_ok = scalar(
            con,
            "SELECT CASE WHEN sum(greatest(coalesce(high_watermark, next_offset) - next_offset, 0)) = 0 "
            "THEN max(greatest(updated_at, coalesce(watermark_at, updated_at))) ELSE max(updated_at) END "
            "FROM kafka_offsets",
        )
    failures: list[tuple[datetime, str]] = []
    rest_last = con.execute(
        "SELECT status, finished_at, error FROM sync_runs WHERE transport = 'rest' AND status <> 'running' "
        "ORDER BY id DESC LIMIT 1"
    ).fetchone()
    if rest_last is not None and rest_last[0] == "failed" and rest_last[1] is not None:
        failures.append((rest_last[1], rest_last[2] or "failed"))
    kafka_failures = [
        "SELECT finished_at, error FROM sync_runs WHERE transport = 'kafka' AND status = 'failed' "
        "AND (?::TIMESTAMPTZ IS NULL OR finished_at > ?) ORDER BY id DESC LIMIT 1"
    ]
    if has_table(con, "consumer_restarts"):
        kafka_failures.append(
            'SELECT "at", error FROM consumer_restarts WHERE ?::TIMESTAMPTZ IS NULL OR "at" > ? '
            "ORDER BY id DESC LIMIT 1"
        )
    for sql in kafka_failures:
        row = con.execute(sql, [kafka_ok, kafka_ok]).fetchone()
        if row is not None and row[0] is not None:
            failures.append((row[0], row[1] or "failed"))
    fresh: Sequence[tuple[datetime, str]] = [
        (t, via) for t, via in ((rest_ok, "rest"), (kafka_ok, "kafka")) if t
    ]
    fresh_at, via = max(fresh) if fresh else (None, None)
    failed_at, error = max(failures) if failures else (None, None)
    return Freshness(fresh_at, via, failed_at, error)


def held_versions(con: Conn, entity: str, ids: Sequence[int]) -> dict[int, datetime]:
    """The `updated_at` the cache holds for each of `ids` that it holds (a record deleted or never
    seen is absent): how `bench/freshness.py` sees a change arrive through the app's own reads."""
    rows = con.execute(
        f"SELECT id, updated_at FROM {TABLES[entity]} WHERE id IN (SELECT unnest(?::BIGINT[]))",  # noqa: S608
        [list(ids)],
    ).fetchall()
    return {int(i): t for i, t in rows}
