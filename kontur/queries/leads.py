"""Leads page: the funnel, outcomes, weekly starts, stale leads, the agent leaderboard."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from kontur.models import FUNNEL_STAGES, OUTCOME_STAGES

from ._db import Conn, frame
from .filters import LeadFilters, lead_where
from .people import name_sql

_FUNNEL = [s.value for s in FUNNEL_STAGES]
_OUTCOMES = [s.value for s in OUTCOME_STAGES]
# Stages where a lead can get stuck (won is an end, not a wait).
_OPEN_STAGES = _FUNNEL[:-1]


@dataclass(frozen=True)
class Funnel:
    """`funnel`: stage, at_stage (leads now there), reached (now there or further along the funnel),
    conversion (reached / the previous stage's reached). `outcomes`: stage, n. `total`: all leads."""

    funnel: pd.DataFrame
    outcomes: pd.DataFrame
    total: int


def stage_counts(con: Conn, f: LeadFilters) -> pd.DataFrame:
    """current_status, n over the matching leads."""
    where = lead_where(f)
    return frame(
        con,
        f"SELECT l.current_status, count(*) AS n FROM leads l WHERE {where.sql} GROUP BY ALL",  # noqa: S608
        where.params,
    )


def funnel(con: Conn, f: LeadFilters) -> Funnel:
    """A lead only carries its current stage, so "reached stage k" counts those now at stage k or any
    later funnel stage; leads in an outcome (lost, paused, ...) are shown beside, not folded in."""
    counts = dict(stage_counts(con, f).itertuples(index=False, name=None))
    at_stage = [int(counts.get(s, 0)) for s in _FUNNEL]
    reached = [sum(at_stage[i:]) for i in range(len(at_stage))]
    conversion = [None] + [
        (reached[i] / reached[i - 1]) if reached[i - 1] else None for i in range(1, len(reached))
    ]
    funnel_df = pd.DataFrame(
        {"stage": _FUNNEL, "at_stage": at_stage, "reached": reached, "conversion": conversion}
    )
    outcomes = pd.DataFrame({"stage": _OUTCOMES, "n": [int(counts.get(s, 0)) for s in _OUTCOMES]})
    return Funnel(funnel=funnel_df, outcomes=outcomes, total=int(sum(counts.values())))


def weekly_starts(con: Conn, f: LeadFilters) -> pd.DataFrame:
    """week (Monday), n — leads started per week."""
    where = lead_where(f)
    return frame(
        con,
        f"""
        SELECT date_trunc('week', l.start_date)::DATE AS week, count(*) AS n
        FROM leads l WHERE {where.sql} GROUP BY ALL ORDER BY week
        """,  # noqa: S608 -- constant clauses, parameterised values
        where.params,
    )


# Stage filters are applied after grouping by stage: a per-row list_contains over millions of leads
# costs more than the grouping itself.
# Days since a timestamp, by epoch arithmetic: date_diff on TIMESTAMPTZ goes through the calendar of
# the session's time zone per row and is ~7x slower over millions of leads.
_DAYS_SINCE = "floor((epoch(now()) - epoch({col})) / 86400)::INTEGER"


def stale_summary(con: Conn, f: LeadFilters) -> pd.DataFrame:
    """Per open funnel stage: n, avg_days and max_days since status_updated_at."""
    where = lead_where(f)
    return frame(
        con,
        f"""
        SELECT stage, n,
               round((epoch(now()) - avg_epoch) / 86400, 1) AS avg_days,
               {_DAYS_SINCE.format(col="oldest")} AS max_days
        FROM (
            SELECT l.current_status AS stage, count(*) AS n, avg(epoch(l.status_updated_at)) AS avg_epoch,
                   min(l.status_updated_at) AS oldest
            FROM leads l
            WHERE {where.sql}
            GROUP BY ALL
        )
        WHERE list_contains(?, stage)
        ORDER BY list_position(?, stage)
        """,  # noqa: S608 -- constant clauses, parameterised values
        [*where.params, _OPEN_STAGES, _OPEN_STAGES],
    )


def stale_leads(con: Conn, f: LeadFilters, per_stage: int = 5) -> pd.DataFrame:
    """The `per_stage` leads waiting longest at each open funnel stage. `min_by(id, t, n)` keeps n ids
    per stage in one pass, instead of ranking every lead with a window."""
    where = lead_where(f)
    agent_expr, agent_join = name_sql(con, "ua", "l.agent_id", "Агент #")
    return frame(
        con,
        f"""
        WITH picked AS (
            SELECT unnest(min_by(l.id, l.status_updated_at, ?)) AS id
            FROM leads l
            WHERE {where.sql}
            GROUP BY l.current_status
            HAVING list_contains(?, l.current_status)
        ),
        l AS (SELECT * FROM leads WHERE id IN (SELECT id FROM picked))
        SELECT l.id, l.current_status AS stage, l.status_updated_at,
               {_DAYS_SINCE.format(col="l.status_updated_at")} AS days,
               pr.name AS project, {agent_expr} AS agent, l.fee
        FROM l
        LEFT JOIN projects pr ON pr.id = l.project_id
        {agent_join}
        ORDER BY list_position(?, l.current_status), l.status_updated_at, l.id
        """,  # noqa: S608 -- constant clauses and own aliases, parameterised values
        [per_stage, *where.params, _OPEN_STAGES, _OPEN_STAGES],
    )


def leaderboard(con: Conn, f: LeadFilters, limit: int = 50) -> pd.DataFrame:
    """Per agent: leads, won, conversion, fee_won, fee_pipeline, nps_share — best earners first."""
    where = lead_where(f)
    agent_expr, agent_join = name_sql(con, "ua", "top.agent_id", "Агент #")
    return frame(
        con,
        f"""
        WITH top AS (
            SELECT l.agent_id, count(*) AS leads,
                   count_if(l.state = 'Выиграна') AS won,
                   coalesce(sum(l.fee) FILTER (WHERE l.state = 'Выиграна'), 0) AS fee_won,
                   coalesce(sum(l.fee) FILTER (WHERE l.state = 'Активные'), 0) AS fee_pipeline,
                   avg(l.sign_nps_passed::INTEGER) AS nps_share
            FROM leads l WHERE {where.sql}
            GROUP BY l.agent_id ORDER BY fee_won DESC, won DESC, l.agent_id
            LIMIT ?
        )
        SELECT top.agent_id, {agent_expr} AS agent, top.leads, top.won, top.won / top.leads AS conversion,
               top.fee_won, top.fee_pipeline, top.nps_share
        FROM top {agent_join}
        ORDER BY top.fee_won DESC, top.won DESC, top.agent_id
        """,  # noqa: S608 -- constant clauses and own aliases, parameterised values
        [*where.params, limit],
    )


def people_options(con: Conn, role_column: str, f: LeadFilters) -> pd.DataFrame:
    """id, name of the agents (`agent_id`) or managers (`manager_id`) with leads in the city/project."""
    column = {"agent_id": "l.agent_id", "manager_id": "l.manager_id"}[role_column]
    fallback = "Агент #" if role_column == "agent_id" else "Менеджер #"
    where = lead_where(LeadFilters(city_id=f.city_id, project_id=f.project_id))
    expr, join = name_sql(con, "u", "x.id", fallback)
    return frame(
        con,
        f"""
        SELECT x.id, {expr} AS name
        FROM (SELECT DISTINCT {column} AS id FROM leads l WHERE {column} IS NOT NULL AND {where.sql}) x
        {join}
        ORDER BY x.id
        """,  # noqa: S608 -- column from the constant map above, own aliases, parameterised values
        where.params,
    )


def start_bounds(con: Conn) -> tuple[object, object] | None:
    row = con.execute("SELECT min(start_date), max(start_date) FROM leads").fetchone()
    return None if row is None or row[0] is None else (row[0], row[1])
