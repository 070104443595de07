"""Funnel reach: how many leads got at least as far as each stage, and the one definition of "won".

A lead carries only its current stage, so how far it got is read from that stage:
- a funnel stage (проверка лида … выиграна): it reached that stage and every stage before it;
- «отмененная бронь», «слетевшая бронь»: the booking was made, so it reached «бронь» (and everything
  before it) even though it dropped out there;
- «проиграна», «на паузе»: Brusnika does not say where it stopped, so it counts only in the funnel's
  entry (the first stage).
Conversion of a stage = its reach / the previous stage's reach.

"Won" is the stage `выиграна`, one number for the KPI, the funnel and the leaderboard; the leads'
`state` is shown beside it (a won lead whose state is not «Выиграна», or the reverse, is counted
separately, never folded in).

Every function takes the reader's scope (`kontur.auth.scopes.ReadScope` fits `RowScope`; queries sit
below auth, so they take it by shape): an agent counts only their agency's leads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd

from kontur.models import FUNNEL_STAGES, OUTCOME_STAGES, LeadStage, LeadState

from ._db import Conn, frame, has_table
from .filters import LeadFilters, Where

FUNNEL: tuple[str, ...] = tuple(s.value for s in FUNNEL_STAGES)
OUTCOMES: tuple[str, ...] = tuple(s.value for s in OUTCOME_STAGES)
WON = LeadStage.WON.value
WON_STATE = LeadState.WON.value

# The furthest funnel stage each stage proves was reached (index into FUNNEL).
REACHED: Mapping[str, int] = {
    **{stage: i for i, stage in enumerate(FUNNEL)},
    LeadStage.BOOKING_CANCELLED.value: FUNNEL.index(LeadStage.BOOKING.value),
    LeadStage.BOOKING_FELL_THROUGH.value: FUNNEL.index(LeadStage.BOOKING.value),
    LeadStage.LOST.value: 0,
    LeadStage.PAUSED.value: 0,
}

RULE_TEXT = (
    "Охват этапа — сделки, дошедшие до него или дальше. Отменённая и слетевшая бронь дошли до «Бронь» "
    "и учтены в охвате всех этапов до неё. Проигранные и поставленные на паузу учтены только во входе "
    "воронки: на каком этапе они остановились, Брусника не передаёт. Выигранная сделка — этап "
    "«Выиграна»; статус сделки показан рядом."
)


class RowScope(Protocol):
    """Whose rows a reader may see (`ReadScope` fits)."""

    @property
    def everything(self) -> bool: ...

    @property
    def nothing(self) -> bool: ...

    def predicate(self, column: str) -> tuple[str, list[Any]]: ...


@dataclass(frozen=True)
class FunnelReach:
    """`funnel`: stage, at_stage (now there), reached (got there or further), conversion.
    `outcomes`: stage, n (leads now in each outcome). `total`: every lead counted."""

    funnel: pd.DataFrame
    outcomes: pd.DataFrame
    total: int


@dataclass(frozen=True)
class Won:
    """Won = the stage `выиграна`. `by_state`: those leads by their state; `state_only`: leads whose
    state is «Выиграна» at another stage (data to check with Brusnika, not won here)."""

    won: int
    by_state: dict[str, int]
    state_only: int


def lead_clauses(f: LeadFilters, scope: RowScope) -> Where:
    """Clauses over `leads l`: the reader's scope first, then the page's filters."""
    where = Where()
    if not scope.everything:
        sql, params = scope.predicate("l.agent_id")
        where.add(sql, *params)
    if f.city_id is not None:
        where.add("l.project_id IN (SELECT id FROM projects WHERE city_id = ?)", f.city_id)
    if f.project_id is not None:
        where.add("l.project_id = ?", f.project_id)
    if f.agent_ids:
        where.add("list_contains(?, l.agent_id)", list(f.agent_ids))
    if f.manager_ids:
        where.add("list_contains(?, l.manager_id)", list(f.manager_ids))
    if f.states:
        where.add("list_contains(?, l.state)", list(f.states))
    if f.start_from is not None:
        where.add("l.start_date >= ?", f.start_from)
    if f.start_to is not None:
        where.add("l.start_date <= ?", f.start_to)
    return where


def stage_counts(con: Conn, f: LeadFilters, scope: RowScope) -> dict[str, int]:
    """current_status -> number of matching leads in the reader's scope."""
    if scope.nothing or not has_table(con, "leads"):
        return {}
    where = lead_clauses(f, scope)
    rows = con.execute(
        f"SELECT l.current_status, count(*) FROM leads l WHERE {where.sql} GROUP BY ALL",  # noqa: S608
        where.params,
    ).fetchall()
    return {str(stage): int(n) for stage, n in rows}


def reach(counts: Mapping[str, int]) -> FunnelReach:
    """The funnel from per-stage counts, by the rule above. A stage Kontur does not know (a newer
    contract) counts in the total and the funnel's entry, like a lead whose progress is unknown."""
    furthest = [0] * len(FUNNEL)
    for stage, n in counts.items():
        furthest[REACHED.get(stage, 0)] += int(n)
    reached = [sum(furthest[i:]) for i in range(len(FUNNEL))]
    conversion: list[float | None] = [None]
    conversion += [reached[i] / reached[i - 1] if reached[i - 1] else None for i in range(1, len(FUNNEL))]
    funnel = pd.DataFrame(
        {
            "stage": list(FUNNEL),
            "at_stage": [int(counts.get(s, 0)) for s in FUNNEL],
            "reached": reached,
            "conversion": conversion,
        }
    )
    outcomes = pd.DataFrame({"stage": list(OUTCOMES), "n": [int(counts.get(s, 0)) for s in OUTCOMES]})
    return FunnelReach(funnel=funnel, outcomes=outcomes, total=int(sum(counts.values())))


def funnel_reach(con: Conn, f: LeadFilters, scope: RowScope) -> FunnelReach:
    return reach(stage_counts(con, f, scope))


def won(con: Conn, f: LeadFilters, scope: RowScope) -> Won:
    if scope.nothing or not has_table(con, "leads"):
        return Won(0, {}, 0)
    where = lead_clauses(f, scope)
    rows = frame(
        con,
        f"""
        SELECT l.state, (l.current_status = ?) AS won_stage, count(*) AS n
        FROM leads l WHERE {where.sql} AND (l.current_status = ? OR l.state = ?) GROUP BY ALL
        """,  # noqa: S608 -- constant clauses, parameterised values
        [WON, *where.params, WON, WON_STATE],
    )
    by_state = {str(r.state): int(r.n) for r in rows.itertuples() if r.won_stage}
    state_only = int(sum(int(r.n) for r in rows.itertuples() if not r.won_stage))
    return Won(won=sum(by_state.values()), by_state=by_state, state_only=state_only)
