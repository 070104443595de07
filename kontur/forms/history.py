"""Which rows of the action history the acting user may see, from the roles policy.

The history is the record of deals being worked (bookings, visits, clients), so it is seen as far as
the role sees deals (`view_leads`): managers, OZK managers and administrators everything; agents and
heads of agency their own agency's actions; anyone else still their own actions (one may always see
what one did oneself). A blocked or unknown user sees nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from kontur import actions
from kontur.auth.policy import Action, Scope, can, scope_of

from .identity import Actor

PERMISSION = Action.VIEW_LEADS


@dataclass(frozen=True)
class Shown:
    visibility: actions.Visibility
    caption: str  # says whose actions are listed


def shown_to(actor: Actor | None) -> Shown:
    if actor is None or not can(actor, Action.BROWSE).allowed:
        return Shown(actions.Visibility.nobody(), "Нет пользователя, от имени которого показывать историю.")
    scope = scope_of(actor, PERMISSION)
    if scope is Scope.ALL:
        return Shown(actions.Visibility(everyone=True), "Все действия.")
    if scope is Scope.AGENCY and actor.agency_id is not None:
        return Shown(
            actions.Visibility(agency_id=actor.agency_id, user_id=actor.id),
            "Действия пользователей вашего агентства.",
        )
    return Shown(actions.Visibility(user_id=actor.id), "Только ваши действия.")


def rows(
    conn: duckdb.DuckDBPyConnection, actor: Actor | None, *, limit: int = 500
) -> tuple[Shown, list[dict]]:
    """What the history page lists for `actor`, newest first."""
    shown = shown_to(actor)
    if shown.visibility == actions.Visibility.nobody():
        return shown, []
    return shown, actions.recent(conn, limit=limit, visible=shown.visibility)
