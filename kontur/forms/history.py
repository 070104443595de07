"""Which rows of the action history the acting user may see, from the roles policy, and the table
(and its CSV) the history page shows.

The history is the record of deals being worked (bookings, visits, clients), so it is read as far as
the role reads deals (`view_leads`, through `scopes.read_scope` like every other read): managers, OZK
managers and administrators everything; agents and heads of agency their own agency's people; anyone
else still their own actions (one may always see what one did oneself). A blocked or unknown user
sees nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from kontur import actions
from kontur.auth import directory
from kontur.auth.actor import Actor
from kontur.auth.policy import Action, can
from kontur.auth.scopes import ReadScope

PERMISSION = Action.VIEW_LEADS


@dataclass(frozen=True)
class Shown:
    scope: ReadScope
    caption: str  # says whose actions are listed


def shown_to(conn: duckdb.DuckDBPyConnection, actor: Actor | None) -> Shown:
    if actor is None or not can(actor, Action.BROWSE).allowed:
        return Shown(ReadScope.no_one(), "Нет пользователя, от имени которого показывать историю.")
    scope = directory.scope_for(conn, actor, PERMISSION)
    if scope.everything:
        return Shown(scope, "Все действия.")
    if scope.agent_ids and scope.agent_ids != {actor.id}:
        return Shown(scope, "Действия пользователей вашего агентства.")
    return Shown(ReadScope(frozenset({actor.id})), "Только ваши действия.")


def rows(
    conn: duckdb.DuckDBPyConnection, actor: Actor | None, *, limit: int = 500
) -> tuple[Shown, list[dict]]:
    """What the history page lists for `actor`, newest first."""
    shown = shown_to(conn, actor)
    if shown.scope.nothing:
        return shown, []
    return shown, actions.recent(conn, shown.scope, limit=limit)


def table(listed: list[dict]) -> pd.DataFrame:
    """The page's table (and its CSV) in Russian column names; request bodies stay JSON text."""
    return pd.DataFrame(
        [
            {
                "Когда": row["at"],
                "Кто": row["actor"] or "—",
                "Действие": actions.ACTION_LABELS.get(row["action"], row["action"]),
                "Итог": actions.OUTCOME_LABELS.get(row["outcome"], row["outcome"]),
                "№ в Брусника": row["brusnika_id"],
                "Причина": row["error"] or "",
                "Запрос": row["request"],
            }
            for row in listed
        ],
        columns=["Когда", "Кто", "Действие", "Итог", "№ в Брусника", "Причина", "Запрос"],
    )
