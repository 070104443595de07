"""Run bookkeeping, in one module: `sync_runs` (one row per REST run or Kafka consumer session),
`sync_run_entities` (per entity), `sync_state` (per entity: where a REST incremental resumes, last
success), and `consumer_restarts` (the dashboard's Kafka consumer restarted after an error).

Functions take a cursor: inside a load transaction (so a run's row never disagrees with the tables
it changed) or on their own (auto-committed: a run's start and failure are kept whatever happens
next).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import duckdb

Cursor = duckdb.DuckDBPyConnection

INTERRUPTED_REST = (
    "interrupted: the process ended before the run finished (killed or crashed); "
    "the cache was left as before the run"
)
INTERRUPTED_KAFKA = (
    "interrupted: the consumer ended without a clean shutdown (killed or crashed); the batches it "
    "committed before that are in the cache (kafka_offsets says how far), the batch in flight was "
    "not applied and is read again by the next session"
)


@dataclass(frozen=True)
class EntityState:
    entity: str
    high_water: datetime | None
    last_run_id: int | None
    last_success_at: datetime | None


class RunCounts(Protocol):
    """What a load did to one entity (`kontur.load.EntityCounts` is one)."""

    entity: str
    mode: str
    pages: int
    received: int
    loaded: int
    deleted: int
    rejected: int
    high_water: datetime | None
    note: str | None


def start_run(cur: Cursor, transport: str, mode: str, *, trigger: str | None = None) -> int:
    row = cur.execute(
        "INSERT INTO sync_runs (transport, mode, started_at, status, pid, trigger) "
        "VALUES (?, ?, current_timestamp, 'running', ?, ?) RETURNING id",
        [transport, mode, os.getpid(), trigger],
    ).fetchone()
    assert row is not None
    return int(row[0])


def fail_run(cur: Cursor, run_id: int, error: str) -> None:
    """Record a failed run (outside any load transaction, which has been rolled back)."""
    cur.execute(
        "UPDATE sync_runs SET status = 'failed', finished_at = current_timestamp, error = ? WHERE id = ?",
        [error[:2000], run_id],
    )


def finish_session(cur: Cursor, run_id: int) -> None:
    """A Kafka consumer session ended cleanly (its counts were added batch by batch)."""
    cur.execute(
        "UPDATE sync_runs SET status = 'succeeded', finished_at = current_timestamp WHERE id = ?", [run_id]
    )


def finish_run(cur: Cursor, run_id: int, counts: Sequence[RunCounts]) -> None:
    """A REST run's per-entity figures and its success, inside the load transaction."""
    cur.executemany(
        "INSERT INTO sync_run_entities (run_id, entity, mode, pages, received, loaded, deleted, "
        "rejected, high_water, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [run_id, c.entity, c.mode, c.pages, c.received, c.loaded, c.deleted, c.rejected, c.high_water,
             c.note]
            for c in counts
        ],
    )  # fmt: skip
    modes = {c.mode for c in counts}
    notes = [f"{c.entity}: {c.note}" for c in counts if c.note]
    cur.execute(
        "UPDATE sync_runs SET status = 'succeeded', finished_at = current_timestamp, mode = ?, loaded = ?, "
        "deleted = ?, rejected = ?, error = NULL, note = ? WHERE id = ?",
        [
            modes.pop() if len(modes) == 1 else "mixed",
            sum(c.loaded for c in counts),
            sum(c.deleted for c in counts),
            sum(c.rejected for c in counts),
            "; ".join(notes) or None,
            run_id,
        ],
    )


def add_to_session(cur: Cursor, run_id: int, counts: Sequence[RunCounts]) -> None:
    """A Kafka batch's figures added to its session's running totals (inside the batch's transaction):
    one statement for every entity of the batch (a statement each costs milliseconds)."""
    if counts:
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
                [c.entity for c in counts],
                [c.received for c in counts],
                [c.loaded for c in counts],
                [c.deleted for c in counts],
                [c.rejected for c in counts],
                [c.high_water for c in counts],
            ],
        )
    cur.execute(
        "UPDATE sync_runs SET loaded = loaded + ?, deleted = deleted + ?, rejected = rejected + ? "
        "WHERE id = ?",
        [
            sum(c.loaded for c in counts),
            sum(c.deleted for c in counts),
            sum(c.rejected for c in counts),
            run_id,
        ],
    )


def set_state(cur: Cursor, entity: str, run_id: int, high_water: datetime | None, *, move_mark: bool) -> None:
    """After a successful load of `entity`: when it last changed, and (`move_mark`, REST only) the
    high-water mark a REST incremental resumes from, exactly as given (NULL: the next REST run of
    this entity is full)."""
    if move_mark:
        cur.execute(
            "INSERT INTO sync_state (entity, high_water, last_run_id, last_success_at) "
            "VALUES (?, ?, ?, current_timestamp) ON CONFLICT (entity) DO UPDATE SET "
            "high_water = excluded.high_water, last_run_id = excluded.last_run_id, "
            "last_success_at = excluded.last_success_at",
            [entity, high_water, run_id],
        )
    else:
        cur.execute(
            "INSERT INTO sync_state (entity, high_water, last_run_id, last_success_at) "
            "VALUES (?, NULL, ?, current_timestamp) ON CONFLICT (entity) DO UPDATE SET "
            "last_run_id = excluded.last_run_id, last_success_at = excluded.last_success_at",
            [entity, run_id],
        )


def high_water(cur: Cursor, entity: str) -> datetime | None:
    row = cur.execute("SELECT high_water FROM sync_state WHERE entity = ?", [entity]).fetchone()
    return row[0] if row else None


def entity_states(cur: Cursor) -> dict[str, EntityState]:
    rows = cur.execute("SELECT entity, high_water, last_run_id, last_success_at FROM sync_state").fetchall()
    return {row[0]: EntityState(*row) for row in rows}


def run_row(cur: Cursor, run_id: int) -> dict[str, object] | None:
    rel = cur.execute("SELECT * FROM sync_runs WHERE id = ?", [run_id])
    names = [d[0] for d in rel.description]
    row = rel.fetchone()
    return dict(zip(names, row, strict=True)) if row else None


def last_success(cur: Cursor, *, transport: str, mode: str) -> datetime | None:
    """When the newest succeeded run of this transport and mode finished (the schedule's memory
    across restarts of the dashboard)."""
    row = cur.execute(
        "SELECT max(finished_at) FROM sync_runs WHERE transport = ? AND mode = ? AND status = 'succeeded'",
        [transport, mode],
    ).fetchone()
    return row[0] if row else None


def mark_interrupted(cur: Cursor) -> None:
    """Runs still 'running' when the file is opened read-write died with their process. What the
    cache holds afterwards differs by transport: a REST run applies everything in one transaction at
    its end, while a Kafka session commits batch by batch."""
    cur.execute(
        "UPDATE sync_runs SET status = 'failed', finished_at = current_timestamp, error = CASE "
        "WHEN transport = 'kafka' THEN ? ELSE ? END WHERE status = 'running'",
        [INTERRUPTED_KAFKA, INTERRUPTED_REST],
    )


def record_restart(
    cur: Cursor, *, group_id: str, failed_run_id: int | None, error: str, attempt: int, delay: float
) -> None:
    cur.execute(
        'INSERT INTO consumer_restarts (group_id, failed_run_id, "at", error, attempt, delay_seconds) '
        "VALUES (?, ?, current_timestamp, ?, ?, ?)",
        [group_id, failed_run_id, error[:2000], attempt, delay],
    )
