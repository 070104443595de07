"""Funnel reach: how many leads got at least as far as each stage, and the one definition of "won".

A lead carries only its current stage, so how far it got is read from that stage:
- a funnel stage (проверка лида … выиграна): it reached that stage and every stage before it;
- «отмененная бронь», «слетевшая бронь»: the booking was made, so it reached «бронь» (and everything
  before it) even though it dropped out there;
- «проиграна», «на паузе»: Brusnika does not say where it stopped, so it counts only in the funnel's
  entry (the first stage).
Conversion of a stage = its reach / the previous stage's reach.

"Won" is the stage `выиграна`, one number for the KPI, the funnel and the leaderboard; the leads'
`state` is shown beside it (a lead whose state is «Выиграна» at another stage is counted separately,
never folded in).

`reach(counts)` applies the rule to per-stage counts (`leads.stage_counts`, which reads the summary
tables when it may; `leads.funnel` is the two together). `won(con, scope, f)` takes the reader's scope
after the cursor like every lead query (`kontur.ui.read_scoped`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from kontur.models import FUNNEL_STAGES, OUTCOME_STAGES, LeadStage, LeadState

from . import summaries
from ._db import Conn, frame, has_table
from .filters import LeadFilters, RowScope, lead_where

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


@dataclass(frozen=True)
class FunnelReach:
    """`funnel`: stage, at_stage (now there), reached (got there or further), conversion.
    `outcomes`: stage, n (leads now in each outcome). `total`: every lead counted."""

    funnel: pd.DataFrame
    outcomes: pd.DataFrame
    total: int

    @property
    def won(self) -> int:
        """Leads at the stage `выиграна` (the one definition of won)."""
        return int(self.funnel["at_stage"].iloc[-1])

    @property
    def entered(self) -> int:
        return int(self.funnel["reached"].iloc[0])


@dataclass(frozen=True)
class Won:
    """Won = the stage `выиграна`. `by_state`: those leads by their state; `state_only`: leads whose
    state is «Выиграна» at another stage (data to check with Brusnika, not won here)."""

    won: int
    by_state: dict[str, int]
    state_only: int


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


def won(con: Conn, scope: RowScope, f: LeadFilters) -> Won:
    """The won leads of the reader's scope by their state, and the leads whose state alone says won."""
    if scope.nothing or not has_table(con, "leads"):
        return Won(0, {}, 0)
    if summaries.by_group(scope, f) and summaries.usable(con):
        # The per-(project, stage, state) sums answer city, project and state filters alike.
        where = summaries.group_where(f)
        rows = frame(
            con,
            f"""
            SELECT s.state, s.current_status = ? AS won_stage, sum(s.n)::BIGINT AS n
            FROM lead_stage_summary s
            WHERE {where.sql} AND (s.current_status = ? OR s.state = ?) GROUP BY ALL
            """,  # noqa: S608 -- constant clauses, parameterised values
            [WON, *where.params, WON, WON_STATE],
        )
    elif summaries.by_agent(f, city=False) and summaries.usable(con):
        # The per-(agent, state, won stage) sums answer chosen agents and any reader's scope.
        where = summaries.agent_where(scope, f)
        rows = frame(
            con,
            f"""
            SELECT s.state, s.won_stage, sum(s.n)::BIGINT AS n FROM lead_agent_summary s
            WHERE {where.sql} AND (s.won_stage OR s.state = ?) GROUP BY ALL
            """,  # noqa: S608 -- constant clauses, parameterised values
            [*where.params, WON_STATE],
        )
    else:
        where = lead_where(f, scope)
        rows = frame(
            con,
            f"""
            SELECT l.state, coalesce(l.current_status = ?, false) AS won_stage, count(*) AS n
            FROM leads l WHERE {where.sql} AND (l.current_status = ? OR l.state = ?) GROUP BY ALL
            """,  # noqa: S608 -- constant clauses, parameterised values
            [WON, *where.params, WON, WON_STATE],
        )
    by_state = {str(r.state): int(r.n) for r in rows.itertuples() if r.won_stage}
    state_only = int(sum(int(r.n) for r in rows.itertuples() if not r.won_stage))
    return Won(won=sum(by_state.values()), by_state=by_state, state_only=state_only)
