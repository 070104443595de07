"""Keeping the lead summary tables (layout: `kontur.cache.ddl`, readers: `kontur.queries.summaries`)
exact, inside the load's one transaction, so a reader never sees summaries that disagree with `leads`:
- full load: rebuilt from `leads`;
- incremental: the rows of the staged ids are captured before and after the apply, and the summable
  columns (counts, sums) are corrected by new − old; the "oldest leads per stage" lists are merged,
  and only groups that lost one of their listed leads are recomputed from `leads`;
- the Kafka consumer's batches of a backlog only mark them stale (`invalidate`), and the consumer
  rebuilds them once caught up (`refresh`);
- the summaries keyed by a lead's city (through its project) are recomputed when a load moves a
  project with leads to another city (or adds or removes one): `cities_before`/`cities_after`.

All SQL text here is built from the constant tables of `kontur.cache.ddl`; values are parameters.
"""

from __future__ import annotations

from typing import Any

import duckdb

from kontur.cache import Cache
from kontur.cache.ddl import (
    CITY_SUMMARIES,
    OLDEST_KEPT,
    OLDEST_SHOWN,
    STAGE_GROUP,
    SUMMABLE,
    SUMMARY_GROUPS,
    SUMMARY_META,
    SUMMARY_OLDEST,
    SUMMARY_TABLES,
    SUMMARY_VERSION,
    Summable,
    summary_ddl,
)

Conn = duckdb.DuckDBPyConnection

# The lead columns any summary reads: what is captured before/after an incremental apply.
_LEAD_COLUMNS = (
    "id, project_id, agent_id, manager_id, state, current_status, sign_nps_passed, fee, start_date, "
    "status_updated_at"
)
_OLDEST = SUMMARY_OLDEST
_GROUPS = SUMMARY_GROUPS
_META = SUMMARY_META
VERSION = SUMMARY_VERSION
# A stage group's key columns, as SQL text: plain, and qualified by a table alias.
_KEY = ", ".join(STAGE_GROUP)


def _keys(alias: str) -> str:
    return ", ".join(f"{alias}.{k}" for k in STAGE_GROUP)


def scalar(con: Conn, sql: str, params: list[Any] | None = None) -> Any:
    row = con.execute(sql, params or []).fetchone()
    return None if row is None else row[0]


def _current(con: Conn) -> bool:
    """Whether the summary tables exist in this module's VERSION (safe inside a transaction)."""
    has_version = scalar(
        con,
        "SELECT count(*) FROM duckdb_columns() WHERE table_name = ? AND column_name = 'version' "
        "AND NOT internal",
        [_META],
    )
    if not has_version:
        return False
    return scalar(con, f"SELECT max(version) FROM {_META}") == VERSION  # noqa: S608


def _create(con: Conn) -> None:
    if not _current(con):
        for table in SUMMARY_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {table}")
    for statement in summary_ddl():
        con.execute(statement)


def _aggregate_sql(s: Summable, source: str, sign: str = "") -> str:
    keys = ", ".join(f"{expr} AS {name}" for name, _, expr in s.keys)
    values = ", ".join(f"{sign}({expr}) AS {name}" for name, _, expr in s.values)
    return f"SELECT {keys}, {values} FROM {source} GROUP BY ALL"  # noqa: S608 -- constant tables


def _oldest_sql(where: str) -> str:
    """The OLDEST_KEPT oldest leads of every stage group among `leads` rows matching `where`,
    with what the stale-leads table shows of them (agent, fee), so that table never reads `leads`.
    `min_by(id, t, n)` and `min(t, n)` list the same rows in the same order of `t` (within equal
    stamps the pairing of id and stamp cannot be wrong): ~5x cheaper than a window over all leads."""
    return f"""
        WITH o AS (
            SELECT {_KEY}, unnest(ids) AS id, unnest(stamps) AS status_updated_at
            FROM (
                SELECT {_KEY}, min_by(id, status_updated_at, {OLDEST_KEPT}) AS ids,
                       min(status_updated_at, {OLDEST_KEPT}) AS stamps
                FROM leads WHERE {where} GROUP BY {_KEY}
            )
        )
        SELECT {_keys("o")}, o.id, o.status_updated_at, l.agent_id, l.fee
        FROM o JOIN (SELECT id, agent_id, fee FROM leads WHERE {where}) l ON l.id = o.id
    """  # noqa: S608 -- constant text


def _set_meta(con: Conn) -> None:
    con.execute(f"DELETE FROM {_META}")  # noqa: S608
    con.execute(f"INSERT INTO {_META} SELECT count(*), ? FROM leads", [VERSION])  # noqa: S608


def rebuild(con: Conn) -> None:
    """Recompute every summary from `leads` (a full load, or a cache that predates them)."""
    _create(con)
    for s in SUMMABLE:
        con.execute(f"DELETE FROM {s.table}")  # noqa: S608
        con.execute(f"INSERT INTO {s.table} {_aggregate_sql(s, 'leads')}")
    con.execute(f"DELETE FROM {_OLDEST}")  # noqa: S608
    con.execute(f"INSERT INTO {_OLDEST} {_oldest_sql('TRUE')}")
    con.execute(f"DELETE FROM {_GROUPS}")  # noqa: S608
    con.execute(f"INSERT INTO {_GROUPS} {_groups_sql('TRUE')}")
    _set_meta(con)


def cities_before(con: Conn, entity: str) -> bool:
    """Called before the load applies `entity`: for projects, with summaries in place, keeps every
    project's city (a few hundred rows); returns whether `cities_after` has work."""
    if entity != "projects" or not _current(con):
        return False
    con.execute("CREATE OR REPLACE TEMP TABLE _summary_cities AS SELECT id, city_id FROM projects")
    return True


def cities_after(con: Conn, pending: bool, *, maintain: bool = True) -> None:
    """Called after the projects were applied, in the same transaction: when a project that leads
    point to changed its city (or appeared, or went), the city-keyed summaries are recomputed from
    `leads` (`maintain`), or all summaries are marked stale (the Kafka consumer's deferring batches)."""
    if not pending:
        return
    moved = scalar(
        con,
        """
        SELECT count(*) FROM leads WHERE project_id IN (
            SELECT coalesce(a.id, b.id) FROM projects a FULL JOIN _summary_cities b ON a.id = b.id
            WHERE a.city_id IS DISTINCT FROM b.city_id OR a.id IS NULL OR b.id IS NULL
        )
        """,
    )
    con.execute("DROP TABLE _summary_cities")
    if not moved:
        return
    if not maintain:
        invalidate(con)
        return
    for s in SUMMABLE:
        if s.table in CITY_SUMMARIES:
            con.execute(f"DELETE FROM {s.table}")  # noqa: S608
            con.execute(f"INSERT INTO {s.table} {_aggregate_sql(s, 'leads')}")


def invalidate(con: Conn) -> None:
    """Mark the summaries stale without touching them (the Kafka consumer's batches, which defer the
    maintenance: ~1.5 s of a 620k-message catch-up). With no meta row readers fall back to `leads`
    (`usable`), and any maintainer rebuilds instead of correcting stale sums by a delta (`_current`
    is false). A count check alone would not do: a batch of updates leaves the lead count as it was."""
    if _current(con):
        con.execute(f"DELETE FROM {_META}")  # noqa: S608


def refresh_in_transaction(cache: Cache) -> bool:
    """`refresh` in a transaction of its own (on a cursor of its own, so any thread may call this);
    returns whether it rebuilt."""
    with cache.transaction() as cur:
        return refresh(cur)


def refresh(con: Conn) -> bool:
    """Rebuild the summaries unless they already describe `leads` (the consumer calls this when it
    has caught up, in its own transaction); returns whether it rebuilt."""
    if _current(con) and scalar(con, f"SELECT max(leads) FROM {_META}") == scalar(  # noqa: S608
        con, "SELECT count(*) FROM leads"
    ):
        return False
    rebuild(con)
    return True


def _groups_sql(where: str) -> str:
    """The cut-off of every group's freshly computed list (groups matching `where`), from the lists
    and the group sizes in lead_stage_summary."""
    return f"""
        SELECT {_keys("s")}, s.n <= {OLDEST_KEPT} AS complete,
               last.status_updated_at AS cut_at, last.id AS cut_id
        FROM lead_stage_summary s
        LEFT JOIN (
            SELECT {_KEY}, status_updated_at, id FROM {_OLDEST}
            QUALIFY row_number() OVER (PARTITION BY {_KEY}
                                       ORDER BY status_updated_at DESC, id DESC) = 1
        ) last USING ({_KEY})
        WHERE {where}
    """  # noqa: S608 -- constant text


def before_apply(con: Conn, entity: str, mode: str, staged_table: str) -> bool:
    """Called before the load applies `entity`. For an incremental leads load with summaries in
    place, keeps the current rows of the staged ids; returns whether `after_apply` has work."""
    if entity != "leads":
        return False
    if mode == "full" or not _current(con):
        return True
    if not scalar(con, f"SELECT count(*) FROM {staged_table}"):  # noqa: S608 -- e.g. a Kafka batch without leads
        return False
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _summary_old AS SELECT {_LEAD_COLUMNS} FROM leads "  # noqa: S608
        f"WHERE id IN (SELECT id FROM {staged_table})"
    )
    return True


def after_apply(con: Conn, entity: str, mode: str, staged_table: str, pending: bool) -> None:
    """Called after the load applied `entity`, in the same transaction."""
    if not pending:
        return
    if mode == "full" or not _current(con):
        rebuild(con)
        return
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _summary_new AS SELECT {_LEAD_COLUMNS} FROM leads "  # noqa: S608
        f"WHERE id IN (SELECT id FROM {staged_table})"
    )
    for s in SUMMABLE:
        _apply_delta(con, s)
    _merge_oldest(con)
    _set_meta(con)
    con.execute("DROP TABLE IF EXISTS _summary_old")
    con.execute("DROP TABLE IF EXISTS _summary_new")


def _apply_delta(con: Conn, s: Summable) -> None:
    key_names = [name for name, _, _ in s.keys]
    keys = ", ".join(key_names)
    sums = ", ".join(f"sum({name}) AS {name}" for name, _, _ in s.values)
    # NULL keys (a lead without a manager) are groups too: match them with IS NOT DISTINCT FROM.
    match = " AND ".join(f"t.{k} IS NOT DISTINCT FROM d.{k}" for k in key_names)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _summary_delta AS
        SELECT {keys}, {sums} FROM (
            {_aggregate_sql(s, "_summary_new")}
            UNION ALL BY NAME
            {_aggregate_sql(s, "_summary_old", "-")}
        ) GROUP BY ALL
        """  # noqa: S608 -- constant tables
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _summary_merged AS
        SELECT {keys}, {sums} FROM (
            SELECT t.* FROM {s.table} t WHERE EXISTS (SELECT 1 FROM _summary_delta d WHERE {match})
            UNION ALL BY NAME
            SELECT * FROM _summary_delta
        ) GROUP BY ALL
        """  # noqa: S608 -- constant tables
    )
    con.execute(
        f"DELETE FROM {s.table} t WHERE EXISTS (SELECT 1 FROM _summary_delta d WHERE {match})"  # noqa: S608
    )
    con.execute(f"INSERT INTO {s.table} BY NAME SELECT * FROM _summary_merged WHERE n <> 0")  # noqa: S608
    con.execute("DROP TABLE _summary_delta")
    con.execute("DROP TABLE _summary_merged")


def _merge_oldest(con: Conn) -> None:
    """Keep every group's list a prefix of the group (ordered by status_updated_at, id).

    Changed leads leave their old lists; their new rows join a list when the group is complete or the
    row orders at or before the group's cut-off (anything older than the cut-off is listed, so the
    list stays a prefix). A list over OLDEST_KEPT is trimmed and its cut-off moves up. Only a list
    that fell under OLDEST_SHOWN without holding its whole group is recomputed from `leads` — rare,
    so a small batch (a Kafka poll) does not scan the table for it."""
    _coalesced = ", ".join(f"coalesce(k.{c}, g.{c}) AS {c}" for c in STAGE_GROUP)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _summary_ranked AS
        SELECT *, row_number() OVER w AS rk, count(*) OVER (PARTITION BY {_KEY}) AS cnt
        FROM (
            SELECT o.* FROM {_OLDEST} o WHERE o.id NOT IN (SELECT id FROM _summary_old)
            UNION ALL
            SELECT {_keys("n")}, n.id, n.status_updated_at, n.agent_id, n.fee
            FROM _summary_new n LEFT JOIN {_GROUPS} g USING ({_KEY})
            WHERE g.project_id IS NULL OR g.complete OR n.status_updated_at < g.cut_at
               OR (n.status_updated_at = g.cut_at AND n.id <= g.cut_id)
        )
        WINDOW w AS (PARTITION BY {_KEY} ORDER BY status_updated_at, id)
        """  # noqa: S608 -- constant tables
    )
    # Every group's new state; a group with no listed lead left keeps its old state (cnt 0).
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _summary_groups AS
        WITH k AS (
            SELECT {_KEY}, max(cnt) AS cnt,
                   max(status_updated_at) FILTER (WHERE rk = {OLDEST_KEPT}) AS kth_at,
                   max(id) FILTER (WHERE rk = {OLDEST_KEPT}) AS kth_id
            FROM _summary_ranked GROUP BY ALL
        ),
        merged AS (
            SELECT {_coalesced},
                   coalesce(k.cnt, 0) AS cnt, k.kth_at, k.kth_id,
                   g.project_id IS NULL AS new_group, g.complete, g.cut_at, g.cut_id
            FROM k FULL JOIN {_GROUPS} g USING ({_KEY})
        )
        SELECT {_KEY},
               CASE WHEN cnt > {OLDEST_KEPT} THEN false WHEN new_group THEN true
                    ELSE complete END AS complete,
               CASE WHEN cnt > {OLDEST_KEPT} THEN kth_at ELSE cut_at END AS cut_at,
               CASE WHEN cnt > {OLDEST_KEPT} THEN kth_id ELSE cut_id END AS cut_id,
               NOT (cnt > {OLDEST_KEPT} OR new_group OR complete) AND cnt < {OLDEST_SHOWN} AS refill
        FROM merged
        """  # noqa: S608 -- constant tables
    )
    con.execute(f"DELETE FROM {_OLDEST}")  # noqa: S608
    con.execute(
        f"""
        INSERT INTO {_OLDEST}
        SELECT {_keys("r")}, r.id, r.status_updated_at, r.agent_id, r.fee
        FROM _summary_ranked r JOIN _summary_groups g USING ({_KEY})
        WHERE r.rk <= {OLDEST_KEPT} AND NOT g.refill
        """  # noqa: S608 -- constant tables
    )
    refill = f"({_KEY}) IN (SELECT ({_KEY}) FROM _summary_groups r WHERE r.refill)"  # noqa: S608
    if scalar(con, "SELECT count(*) FROM _summary_groups WHERE refill"):
        con.execute(f"INSERT INTO {_OLDEST} {_oldest_sql(refill)}")
    con.execute(f"DELETE FROM {_GROUPS}")  # noqa: S608
    con.execute(
        f"INSERT INTO {_GROUPS} SELECT {_KEY}, complete, cut_at, cut_id "  # noqa: S608
        "FROM _summary_groups WHERE NOT refill"
    )
    con.execute(f"INSERT INTO {_GROUPS} {_groups_sql(refill)}")
    con.execute("DROP TABLE _summary_ranked")
    con.execute("DROP TABLE _summary_groups")
