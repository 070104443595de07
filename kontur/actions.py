"""The local audit trail of outbound actions: who did what, what was sent (without secrets), how it
ended, which Brusnika record it touched, and when.

The `actions` table itself is created by `kontur.cache`; this module only writes and reads rows,
always through a cursor of the dashboard's cache connection and with values as parameters. The
operational store (issue 13) replaces `insert` and `recent`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import duckdb

from kontur.cache import WriteLock

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
    "unknown": "Неизвестно (нет ответа или ответ не прочитан)",
    "unsaved": "Выполнено в Брусника, не сохранено в Контуре",
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
    outcome: str  # success | refused | invalid | failed | unknown | unsaved (see OUTCOME_LABELS)
    brusnika_id: int | None = None
    message: str = ""

    @property
    def actor(self) -> str | None:
        """Who, as one readable string: the table keeps a name with the Brusnika user id."""
        if self.user_id is None:
            return self.user_name
        return f"{self.user_name or 'пользователь'} (#{self.user_id})"


def insert(cur: duckdb.DuckDBPyConnection, entry: ActionRecord, *, at: dt.datetime | None = None) -> None:
    """Append one action on `cur`, inside the caller's transaction (the forms take the cache's write
    lock around it, see `kontur.forms.writes`). The message goes into `error` only when the action
    did not succeed."""
    when = at or dt.datetime.now(dt.UTC)
    request_json = json.dumps(scrub(entry.request), ensure_ascii=False, default=str, sort_keys=True)
    cur.execute(
        'INSERT INTO actions ("at", actor, actor_id, action, request, outcome, brusnika_id, error)'
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",  # "at" is a keyword in DuckDB: quoted
        [
            when,
            entry.actor,
            entry.user_id,
            entry.action,
            request_json,
            entry.outcome,
            entry.brusnika_id,
            None if entry.outcome == "success" else (entry.message or None),
        ],
    )


def record(
    conn: duckdb.DuckDBPyConnection,
    entry: ActionRecord,
    *,
    lock: WriteLock | None,
    at: dt.datetime | None = None,
) -> None:
    """Append one action in a transaction of its own, holding the cache's write `lock` (None only
    where nothing else writes the file). The forms write theirs through `insert`, inside
    `kontur.forms.writes.serialised`; this is the same row for callers outside a form."""
    if lock is not None:
        lock.acquire()
    cur = conn.cursor()
    try:
        cur.execute("BEGIN TRANSACTION")
        try:
            insert(cur, entry, at=at)
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
    finally:
        cur.close()
        if lock is not None:
            lock.release()


class RowScope(Protocol):
    """Whose rows may be read (`kontur.auth.scopes.ReadScope` is one), as a SQL predicate over a
    column of our own query text, with its parameters."""

    def predicate(self, column: str) -> tuple[str, list[Any]]: ...


_SELECT_ACTIONS = (
    'SELECT a.id, a."at", a.actor, a.actor_id, a.action, a.request, a.outcome, a.brusnika_id, a.error'
    " FROM actions a"
)


def recent(conn: duckdb.DuckDBPyConnection, scope: RowScope, *, limit: int = 200) -> list[dict]:
    """The latest actions first, as plain dicts, only those of the people `scope` allows (by the
    acting user's id; filtered in SQL, so `limit` counts visible rows)."""
    where, params = scope.predicate("a.actor_id")
    sql = f'{_SELECT_ACTIONS} WHERE {where} ORDER BY a."at" DESC, a.id DESC LIMIT ?'
    cur = conn.cursor()
    try:
        rel = cur.execute(sql, [*params, limit])
        names = [d[0] for d in rel.description]
        return [dict(zip(names, row, strict=True)) for row in rel.fetchall()]
    finally:
        cur.close()
