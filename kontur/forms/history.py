"""Which rows of the action history (the audit in Kontur's operational store, shared by every replica)
the acting user may see, from the roles policy, and the table (and its CSV) the history page shows.

The history is the record of deals being worked (bookings, visits, clients), so it is read as far as
the role reads deals (`view_leads`, through `scopes.read_scope` like every other read): managers, OZK
managers and administrators everything; agents and heads of agency their own agency's people; anyone
else still their own actions (one may always see what one did oneself). A row is someone's when they
acted *or* were acted for (a manager booking for an agent: the agent sees it too). A blocked or
unknown user sees nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from kontur.auth import directory
from kontur.auth.actor import Actor
from kontur.auth.policy import Action, can
from kontur.auth.scopes import ReadScope
from kontur.store import audit
from kontur.store.db import Store

PERMISSION = Action.VIEW_LEADS

# Action names -> Russian wording for the history page.
ACTION_LABELS: dict[str, str] = {
    "create_booking": "Бронирование",
    "cancel_booking": "Отмена брони",
    "create_visit": "Запись на показ",
    "cancel_visit": "Отмена показа",
    "book_time_slot": "Бронь слота показа",
    "create_client": "Новый клиент",
    "create_agency": "Новое агентство",
    "put_user": "Передача пользователя",
    "save_user": "Пользователь сохранён (командная строка)",
}

OUTCOME_LABELS: dict[str, str] = {
    "success": "Выполнено",
    "refused": "Отказ",
    "invalid": "Ошибка в форме",
    "failed": "Не выполнено",
    "unknown": "Неизвестно (нет ответа или ответ не прочитан)",
    "unsaved": "Выполнено в Брусника, не сохранено в Контуре",
}


@dataclass(frozen=True)
class Shown:
    scope: ReadScope
    caption: str  # says whose actions are listed


def shown_to(store: Store, actor: Actor | None) -> Shown:
    if actor is None or not can(actor, Action.BROWSE).allowed:
        return Shown(ReadScope.no_one(), "Нет пользователя, от имени которого показывать историю.")
    with store.read() as tx:
        scope = directory.scope_for(tx, actor, PERMISSION)
    if scope.everything:
        return Shown(scope, "Все действия.")
    if scope.agent_ids and scope.agent_ids != {actor.id}:
        return Shown(scope, "Действия пользователей вашего агентства.")
    return Shown(ReadScope(frozenset({actor.id})), "Только ваши действия.")


@dataclass(frozen=True)
class HistoryRow:
    """An audit row with the name of the agent acted for (None: not named in the directory)."""

    action: audit.ActionRow
    agent_name: str | None = None

    @property
    def agent(self) -> str:
        row = self.action
        if row.on_behalf_of is None:
            return ""
        if row.actor_id == row.on_behalf_of:
            return "—"  # acted for themself
        return f"{self.agent_name} (#{row.on_behalf_of})" if self.agent_name else f"агент №{row.on_behalf_of}"


def rows(store: Store, actor: Actor | None, *, limit: int = 500) -> tuple[Shown, list[HistoryRow]]:
    """What the history page lists for `actor`, newest first."""
    shown = shown_to(store, actor)
    if shown.scope.nothing:
        return shown, []
    with store.read() as tx:
        page = audit.list_actions(tx, involving=shown.scope.agent_ids, limit=limit)
        names = directory.names(tx, {r.on_behalf_of for r in page.rows if r.on_behalf_of is not None})
    return shown, [HistoryRow(row, names.get(row.on_behalf_of or 0)) for row in page.rows]


def table(listed: list[HistoryRow]) -> pd.DataFrame:
    """The page's table (and its CSV) in Russian column names; request bodies stay JSON text."""
    return pd.DataFrame(
        [
            {
                "Когда": item.action.at,
                "Кто": item.action.actor or "—",
                "Для агента": item.agent,
                "Действие": ACTION_LABELS.get(item.action.action, item.action.action),
                "Итог": OUTCOME_LABELS.get(item.action.outcome, item.action.outcome),
                "№ в Брусника": item.action.brusnika_id,
                "Сообщение": item.action.message or "",
                "Запрос": json.dumps(item.action.request, ensure_ascii=False, sort_keys=True, default=str),
            }
            for item in listed
        ],
        columns=["Когда", "Кто", "Для агента", "Действие", "Итог", "№ в Брусника", "Сообщение", "Запрос"],
    )
