"""The local audit trail of outbound actions: who did what, what was sent (without secrets), how it
ended, which Brusnika record it touched, and when.

The `actions` table itself is created by `kontur.cache`; this module only writes and reads rows,
always through a cursor of the dashboard's cache connection and with values as parameters.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import duckdb

from kontur.forms.writes import WriteLock, serialised

# Keys whose values must never reach the table, whatever a caller passes in by mistake.
_SECRET_KEY = re.compile(r"token|authorization|password|secret|api[_-]?key|cookie", re.IGNORECASE)
REDACTED = "***"

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
}

OUTCOME_LABELS: dict[str, str] = {
    "success": "Выполнено",
    "refused": "Отказ",
    "invalid": "Ошибка в форме",
    "failed": "Не выполнено",
    "unknown": "Неизвестно (нет ответа)",
}


def scrub(value: Any) -> Any:
    """A copy of `value` with every secret-looking key's value replaced."""
    if isinstance(value, Mapping):
        return {str(k): (REDACTED if _SECRET_KEY.search(str(k)) else scrub(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


@dataclass(frozen=True)
class ActionRecord:
    user_id: int | None
    user_name: str | None
    action: str
    request: Mapping[str, Any]
    outcome: str  # success | refused | invalid | failed | unknown (see OUTCOME_LABELS)
    brusnika_id: int | None = None
    message: str = ""

    @property
    def actor(self) -> str | None:
        """Who, as one readable string: the table keeps a name with the Brusnika user id."""
        if self.user_id is None:
            return self.user_name
        return f"{self.user_name or 'пользователь'} (#{self.user_id})"


def record(
    conn: duckdb.DuckDBPyConnection,
    entry: ActionRecord,
    *,
    lock: WriteLock | None,
    at: dt.datetime | None = None,
) -> None:
    """Append one action, under the cache's write lock like every other write of the forms (see
    `kontur.forms.writes`). The message goes into `error` only when the action did not succeed."""
    when = at or dt.datetime.now(dt.UTC)
    request_json = json.dumps(scrub(entry.request), ensure_ascii=False, default=str, sort_keys=True)
    params = [
        when,
        entry.actor,
        entry.user_id,
        entry.action,
        request_json,
        entry.outcome,
        entry.brusnika_id,
        None if entry.outcome == "success" else (entry.message or None),
    ]
    serialised(
        conn,
        lambda cur: cur.execute(
            'INSERT INTO actions ("at", actor, actor_id, action, request, outcome, brusnika_id, error)'
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",  # "at" is a keyword in DuckDB: quoted
            params,
        ),
        lock=lock,
    )


@dataclass(frozen=True)
class Visibility:
    """Whose actions a viewer may see: everybody's, those of the users of one agency, or only the
    viewer's own (`kontur.forms.history` decides which from the roles policy)."""

    everyone: bool = False
    agency_id: int | None = None
    user_id: int | None = None  # always included: one sees what one did oneself

    @classmethod
    def nobody(cls) -> Visibility:
        return cls()


def recent(
    conn: duckdb.DuckDBPyConnection, *, limit: int = 200, visible: Visibility | None = None
) -> list[dict]:
    """The latest actions first, as plain dicts (the history page shows them as a table); with
    `visible`, only the rows that viewer may see (filtered in SQL, so `limit` counts visible rows)."""
    scope = visible or Visibility(everyone=True)
    cur = conn.cursor()
    try:
        rel = cur.execute(
            'SELECT a.id, a."at", a.actor, a.actor_id, a.action, a.request, a.outcome, a.brusnika_id,'
            " a.error FROM actions a"
            " WHERE ? OR (? IS NOT NULL AND a.actor_id = ?)"
            " OR (? IS NOT NULL AND a.actor_id IN (SELECT id FROM users WHERE agency_id = ?))"
            ' ORDER BY a."at" DESC, a.id DESC LIMIT ?',
            [
                scope.everyone,
                scope.user_id,
                scope.user_id,
                scope.agency_id,
                scope.agency_id,
                limit,
            ],
        )
        names = [d[0] for d in rel.description]
        return [dict(zip(names, row, strict=True)) for row in rel.fetchall()]
    finally:
        cur.close()
