"""Leads page: the funnel, outcomes, weekly starts, stale leads, the agent leaderboard.

Every function takes the reader's scope (`kontur.auth.scopes.ReadScope`, applied to `leads.agent_id`
by `filters.lead_where`). The per-project summary tables answer only a reader who may see every
lead; the per-agent ones (leaderboard, agents list) take any reader's scope on their agent key
(`summaries.agent_where`). Every other read goes to `leads` with the scope in the WHERE clause.
"""

from __future__ import annotations

import pandas as pd

from kontur.models import FUNNEL_STAGES

from . import summaries
from ._db import Conn, frame, has_table
from .filters import LeadFilters, RowScope, Where, lead_where
from .funnel import WON, WON_STATE, FunnelReach, reach
from .people import name_sql

_FUNNEL = [s.value for s in FUNNEL_STAGES]
# Stages where a lead can get stuck (won is an end, not a wait).
_OPEN_STAGES = _FUNNEL[:-1]


# The funnel by reach (`funnel.reach`: cancelled and fallen bookings reached «бронь»).
Funnel = FunnelReach


def _summaries(con: Conn, scope: RowScope, f: LeadFilters) -> bool:
    """Whether the per-(project, stage, state) summaries answer this read: every lead visible, filters
    by city/project/state at most (`summaries.by_group`), and summaries that describe `leads`."""
    return summaries.by_group(scope, f) and summaries.usable(con)


def stage_counts(con: Conn, scope: RowScope, f: LeadFilters) -> pd.DataFrame:
    """current_status, n over the matching leads."""
    if _summaries(con, scope, f):
        sw = summaries.group_where(f)
        return frame(
            con,
            f"SELECT s.current_status, sum(s.n)::BIGINT AS n FROM lead_stage_summary s "  # noqa: S608
            f"WHERE {sw.sql} GROUP BY ALL",
            sw.params,
        )
    where = lead_where(f, scope)
    return frame(
        con,
        f"SELECT l.current_status, count(*) AS n FROM leads l WHERE {where.sql} GROUP BY ALL",  # noqa: S608
        where.params,
    )


def funnel(con: Conn, scope: RowScope, f: LeadFilters) -> FunnelReach:
    """Each stage's reach by the rule of `kontur.queries.funnel` (a lead only carries its current
    stage: a cancelled or fallen booking reached «бронь»; a lost or paused lead counts only in the
    entry), outcomes beside it. A cache that holds no leads yet (before the first sync) has an empty
    funnel."""
    if not has_table(con, "leads"):
        return reach({})
    counts = dict(stage_counts(con, scope, f).itertuples(index=False, name=None))
    return reach({str(stage): int(n) for stage, n in counts.items()})


def weekly_starts(con: Conn, scope: RowScope, f: LeadFilters) -> pd.DataFrame:
    """week (Monday), n — leads started per week."""
    if _summaries(con, scope, f):
        sw = summaries.group_where(f)
        return frame(
            con,
            f"SELECT s.week, sum(s.n)::BIGINT AS n FROM lead_week_summary s WHERE {sw.sql} "  # noqa: S608
            "GROUP BY ALL ORDER BY week",
            sw.params,
        )
    where = lead_where(f, scope)
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


def stale_summary(con: Conn, scope: RowScope, f: LeadFilters) -> pd.DataFrame:
    """Per open funnel stage: n, avg_days and max_days since status_updated_at."""
    if _summaries(con, scope, f):
        sw = summaries.group_where(f)
        # n and the mean stamp from the exact sums; the oldest from the per-group oldest lists
        return frame(
            con,
            f"""
            WITH g AS (
                SELECT s.current_status AS stage, sum(s.n) AS n, sum(s.epoch_us) AS us
                FROM lead_stage_summary s WHERE {sw.sql} GROUP BY ALL
            ),
            o AS (
                SELECT s.current_status AS stage, min(s.status_updated_at) AS oldest
                FROM lead_stage_oldest s WHERE {sw.sql} GROUP BY ALL
            )
            SELECT g.stage, g.n::BIGINT AS n,
                   round((epoch(now()) - (g.us / g.n)::DOUBLE / 1e6) / 86400, 1) AS avg_days,
                   {_DAYS_SINCE.format(col="o.oldest")} AS max_days
            FROM g JOIN o USING (stage)
            WHERE g.n > 0 AND list_contains(?, g.stage)
            ORDER BY list_position(?, g.stage)
            """,  # noqa: S608 -- constant clauses, parameterised values
            [*sw.params, *sw.params, _OPEN_STAGES, _OPEN_STAGES],
        )
    where = lead_where(f, scope)
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


# How many of the longest-waiting leads the page lists per stage.
STALE_PER_STAGE = summaries.OLDEST_SHOWN


def stale_leads(con: Conn, scope: RowScope, f: LeadFilters, per_stage: int = STALE_PER_STAGE) -> pd.DataFrame:
    """The `per_stage` leads waiting longest at each open funnel stage. `min_by(id, t, n)` keeps n ids
    per stage in one pass, instead of ranking every lead with a window."""
    agent_expr, agent_join = name_sql(con, "ua", "l.agent_id", "Агент #")
    if per_stage <= summaries.OLDEST_SHOWN and _summaries(con, scope, f):
        sw = summaries.group_where(f)
        # Every group lists at least its OLDEST_SHOWN oldest (with agent and fee), so the stage's
        # oldest are among them and `leads` is not read at all.
        picked = f"""
            SELECT s.id, s.current_status, s.status_updated_at, s.project_id, s.agent_id, s.fee
            FROM lead_stage_oldest s
            WHERE s.id IN (
                SELECT unnest(min_by(s.id, s.status_updated_at, ?)) FROM lead_stage_oldest s
                WHERE {sw.sql} AND list_contains(?, s.current_status)
                GROUP BY s.current_status
            )
        """  # noqa: S608 -- constant clauses, parameterised values
        params = [per_stage, *sw.params, _OPEN_STAGES]
    else:
        where = lead_where(f, scope)
        picked = f"""
            SELECT id, current_status, status_updated_at, project_id, agent_id, fee FROM leads
            WHERE id IN (
                SELECT unnest(min_by(l.id, l.status_updated_at, ?)) FROM leads l
                WHERE {where.sql}
                GROUP BY l.current_status
                HAVING list_contains(?, l.current_status)
            )
        """  # noqa: S608 -- constant clauses, parameterised values
        params = [per_stage, *where.params, _OPEN_STAGES]
    return frame(
        con,
        f"""
        WITH l AS ({picked})
        SELECT l.id, l.current_status AS stage, l.status_updated_at,
               {_DAYS_SINCE.format(col="l.status_updated_at")} AS days,
               pr.name AS project, {agent_expr} AS agent, l.fee
        FROM l
        LEFT JOIN projects pr ON pr.id = l.project_id
        {agent_join}
        ORDER BY list_position(?, l.current_status), l.status_updated_at, l.id
        """,  # noqa: S608 -- constant clauses and own aliases, parameterised values
        [*params, _OPEN_STAGES],
    )


def leaderboard(con: Conn, scope: RowScope, f: LeadFilters, limit: int = 50) -> pd.DataFrame:
    """Per agent: leads, won, won_state, conversion, fee_won, fee_pipeline, nps_share — best earners
    first. Won is the stage `выиграна` (as in the KPI and the funnel; `fee_won` is those leads' fee);
    `won_state` counts the leads whose state is «Выиграна», shown beside it."""
    agent_expr, agent_join = name_sql(con, "ua", "top.agent_id", "Агент #")
    if summaries.by_agent(f, city=False) and summaries.usable(con):
        # Per (agent, state, won stage) sums: ~120k rows at scale 10 instead of 5M leads.
        where = summaries.agent_where(scope, f)
        top = f"""
            SELECT s.agent_id, sum(s.n) AS leads,
                   coalesce(sum(s.n) FILTER (WHERE s.won_stage), 0) AS won,
                   coalesce(sum(s.n) FILTER (WHERE s.state = ?), 0) AS won_state,
                   coalesce(sum(s.fee) FILTER (WHERE s.won_stage), 0) AS fee_won,
                   coalesce(sum(s.fee) FILTER (WHERE s.state = 'Активные'), 0) AS fee_pipeline,
                   sum(s.nps_true) / nullif(sum(s.nps_known), 0) AS nps_share
            FROM lead_agent_summary s WHERE {where.sql}
            GROUP BY s.agent_id ORDER BY fee_won DESC, won DESC, s.agent_id
            LIMIT ?
        """  # noqa: S608 -- constant clauses, parameterised values
        params = [WON_STATE, *where.params, limit]
    elif summaries.by_agent(f, city=True) and summaries.usable(con):
        # One row per agent of the city, the columns already split: ~1/10 of 300k rows, not 1.6M leads.
        where = summaries.agent_where(scope, f)
        top = f"""
            SELECT s.agent_id, s.n AS leads, s.won, s.won_state, s.fee_won, s.fee_pipeline,
                   s.nps_true / nullif(s.nps_known, 0) AS nps_share
            FROM lead_agent_city_summary s WHERE {where.sql} AND s.n > 0
            ORDER BY s.fee_won DESC, s.won DESC, s.agent_id
            LIMIT ?
        """  # noqa: S608 -- constant clauses, parameterised values
        params = [*where.params, limit]
    else:
        where = lead_where(f, scope)
        top = f"""
            SELECT l.agent_id, count(*) AS leads,
                   count_if(l.current_status = ?) AS won,
                   count_if(l.state = ?) AS won_state,
                   coalesce(sum(l.fee) FILTER (WHERE l.current_status = ?), 0) AS fee_won,
                   coalesce(sum(l.fee) FILTER (WHERE l.state = 'Активные'), 0) AS fee_pipeline,
                   avg(l.sign_nps_passed::INTEGER) AS nps_share
            FROM leads l WHERE {where.sql}
            GROUP BY l.agent_id ORDER BY fee_won DESC, won DESC, l.agent_id
            LIMIT ?
        """  # noqa: S608 -- constant clauses, parameterised values
        params = [WON, WON_STATE, WON, *where.params, limit]
    return frame(
        con,
        f"""
        WITH top AS ({top})
        SELECT top.agent_id, {agent_expr} AS agent, top.leads::BIGINT AS leads, top.won::BIGINT AS won,
               top.won_state::BIGINT AS won_state, top.won / top.leads AS conversion,
               top.fee_won, top.fee_pipeline, top.nps_share
        FROM top {agent_join}
        ORDER BY top.fee_won DESC, top.won DESC, top.agent_id
        """,  # noqa: S608 -- constant clauses and own aliases, parameterised values
        params,
    )


# Who has how many leads, over all leads (True) or per city (False).
_PEOPLE_SUMS = {
    ("agent_id", True): "lead_agent_summary",
    ("agent_id", False): "lead_agent_city_summary",
    ("manager_id", True): "lead_manager_summary",
    ("manager_id", False): "lead_manager_summary",
}

# The agent/manager pickers list this many people at most: at scale 10 there are 30,000 agents, and a
# browser choice with all of them is slow to send and useless to scroll. The rest are found by search.
PEOPLE_SHOWN = 50


def people_options(
    con: Conn,
    scope: RowScope,
    role_column: str,
    f: LeadFilters,
    search: str = "",
    chosen: tuple[int, ...] = (),
    limit: int = PEOPLE_SHOWN,
) -> pd.DataFrame:
    """id, name, leads of the agents (`agent_id`) or managers (`manager_id`) with leads in the
    city/project among the leads the reader may see: those whose name or number matches `search` (all
    when empty), most leads first, at most `limit`, plus every id in `chosen` that has such leads (a
    picked person stays listed whatever the search)."""
    column = {"agent_id": "agent_id", "manager_id": "manager_id"}[role_column]
    fallback = "Агент #" if role_column == "agent_id" else "Менеджер #"
    place = LeadFilters(city_id=f.city_id, project_id=f.project_id)
    whole = place.city_id is None and place.project_id is None
    # The agents' sums are keyed by agent, so any reader's scope applies to them; the managers' are not.
    scoped = column == "agent_id" or scope.everything
    if place.project_id is None and scoped and summaries.usable(con):  # all leads, or one city's
        table = _PEOPLE_SUMS[column, whole]
        if column == "agent_id":
            where = summaries.agent_where(scope, place)
        else:
            where = Where()
            if place.city_id is not None:
                where.add("s.city_id = ?", place.city_id)
        counts = (
            f"SELECT s.{column} AS id, sum(s.n) AS leads FROM {table} s "  # noqa: S608 -- constant maps
            f"WHERE s.{column} IS NOT NULL AND {where.sql} GROUP BY 1 HAVING sum(s.n) > 0"
        )
        params: list[object] = list(where.params)
    else:
        where = lead_where(place, scope)
        counts = (
            f"SELECT l.{column} AS id, count(*) AS leads FROM leads l "  # noqa: S608
            f"WHERE l.{column} IS NOT NULL AND {where.sql} GROUP BY 1"
        )
        params = list(where.params)
    expr, join = name_sql(con, "u", "x.id", fallback)
    text = search.strip()
    return frame(
        con,
        f"""
        WITH x AS ({counts}),
        named AS (SELECT x.id, {expr} AS name, x.leads::BIGINT AS leads FROM x {join})
        SELECT id, name, leads FROM (
            (SELECT * FROM named
             WHERE ? = '' OR name ILIKE '%' || ? || '%' OR id::VARCHAR = ?
             ORDER BY leads DESC, id LIMIT ?)
            UNION
            (SELECT * FROM named WHERE list_contains(?, id))
        )
        ORDER BY leads DESC, id
        """,  # noqa: S608 -- column/table from constant maps, own aliases, parameterised values
        [*params, text, text, text, limit, list(chosen)],
    )


def start_bounds(con: Conn, scope: RowScope) -> tuple[object, object] | None:
    """The first and last start dates among the leads the reader may see."""
    where = lead_where(LeadFilters(), scope)
    row = con.execute(
        f"SELECT min(l.start_date), max(l.start_date) FROM leads l WHERE {where.sql}",  # noqa: S608
        where.params,
    ).fetchone()
    return None if row is None or row[0] is None else (row[0], row[1])
