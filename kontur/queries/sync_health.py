"""Sync health page: what the cache holds per entity, how fresh it is, runs, rejected records."""

from __future__ import annotations

import pandas as pd

from kontur.schema import TABLES

from ._db import Conn, frame, has_table


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
        SELECT id, transport, mode, status, started_at, finished_at,
               date_diff('millisecond', started_at, finished_at) / 1000.0 AS seconds,
               loaded, deleted, rejected, error
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
