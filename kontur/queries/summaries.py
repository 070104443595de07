"""Reading the small summary tables over `leads` (kept exact by the load path, `kontur.load.summaries`;
layout in `kontur.cache.ddl`), so the leads page's unfiltered views do not aggregate five million rows
on every read.

Why these and not more: the leads page's default view (all leads, or a city/project, or a state)
aggregates the whole table; the summary tables, per (project, stage, state) and per (project, week,
state), turn those reads into scans of a few thousand rows, for a reader who sees every lead
(`by_group`). The per-agent sums (by state, or by city) answer chosen agents and a reader who sees
only some agents, on their agent key (`by_agent`, `agent_where`). A filter none of them answers (a
manager, a start-date range, a project with agents) goes to `leads` itself: a per-day key would make
the summaries about as long as `leads`. A reader trusts the summaries only
while `lead_summary_meta.leads` equals `count(*) FROM leads` (free in DuckDB) and their layout version
matches, so a cache written by anything else (or left stale by a Kafka catch-up) falls back to the
exact raw queries.
"""

from __future__ import annotations

import duckdb

from kontur.cache.ddl import OLDEST_KEPT, OLDEST_SHOWN, SUMMABLE, SUMMARY_META, SUMMARY_VERSION

from ._db import Conn
from .filters import LeadFilters, RowScope, Where

__all__ = [
    "OLDEST_KEPT",
    "OLDEST_SHOWN",
    "SUMMABLE",
    "VERSION",
    "agent_where",
    "by_agent",
    "by_group",
    "group_where",
    "usable",
]

VERSION = SUMMARY_VERSION


def usable(con: Conn) -> bool:
    """Whether the summaries exist in this VERSION and describe the `leads` the reader sees. One
    statement (pages call this before every summary read); a cache without the tables answers with
    a catalog error."""
    try:
        row = con.execute(
            f"SELECT (SELECT max(version) FROM {SUMMARY_META}), (SELECT max(leads) FROM {SUMMARY_META}), "  # noqa: S608
            "(SELECT count(*) FROM leads)"
        ).fetchone()
    except duckdb.CatalogException:  # no summaries (an older cache), or no leads table at all
        return False
    except duckdb.BinderException:  # a meta table of an older layout
        return False
    return row is not None and row[0] == VERSION and row[1] is not None and row[1] == row[2]


def by_group(scope: RowScope, f: LeadFilters) -> bool:
    """Whether the per-(project, stage, state) and per-(project, week, state) summaries answer a read:
    a reader who sees every lead (they are not keyed by agent), and `f` narrowing by city, project and
    state at most."""
    return scope.everything and not (f.agent_ids or f.manager_ids or f.start_from or f.start_to)


def group_where(f: LeadFilters, alias: str = "s") -> Where:
    """The city/project/state clauses of `f` over a summary table keyed by project and state."""
    where = Where()
    if f.city_id is not None:
        where.add(f"{alias}.project_id IN (SELECT id FROM projects WHERE city_id = ?)", f.city_id)  # noqa: S608
    if f.project_id is not None:
        where.add(f"{alias}.project_id = ?", f.project_id)
    if f.states:
        where.add(f"list_contains(?, {alias}.state)", list(f.states))
    return where


def by_agent(f: LeadFilters, *, city: bool) -> bool:
    """Whether the per-agent sums answer `f`: agents and states (`lead_agent_summary`), or with
    `city` a city and agents (`lead_agent_city_summary`, no state key). They are keyed by the agent,
    so a reader who sees only some agents is answered exactly too (`agent_where`)."""
    narrower = f.project_id is not None or f.manager_ids or f.start_from or f.start_to
    if city:
        return not (narrower or f.states) and f.city_id is not None
    return not narrower and f.city_id is None


def agent_where(scope: RowScope, f: LeadFilters, alias: str = "s") -> Where:
    """The reader's scope, the chosen agents, the city and the states of `f` over a per-agent sum."""
    where = Where()
    if not scope.everything:
        sql, params = scope.predicate(f"{alias}.agent_id")
        where.add(sql, *params)
    if f.agent_ids:
        where.add(f"list_contains(?, {alias}.agent_id)", list(f.agent_ids))
    if f.city_id is not None:
        where.add(f"{alias}.city_id = ?", f.city_id)
    if f.states:
        where.add(f"list_contains(?, {alias}.state)", list(f.states))
    return where
