"""What every form action needs: the client, the cache connection, the session's state, who acts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb

from kontur import actions
from kontur.auth.actor import Actor

from .submit import IdempotencyKeys, Outcome
from .writes import WriteLock, serialised

if TYPE_CHECKING:
    from kontur.client import BrusnikaClient


def _local_now() -> dt.datetime:
    return dt.datetime.now()


@dataclass
class FormContext:
    client: BrusnikaClient
    conn: duckdb.DuckDBPyConnection
    state: MutableMapping[str, Any]  # st.session_state in the app
    actor: Actor | None
    clock: Callable[[], dt.datetime] = field(default=_local_now)
    # The cache's write lock (`Cache.write_lock`): every write of a form action takes it, as the sync
    # commit does. None only where nothing else writes the file (a test, a one-off script).
    write_lock: WriteLock | None = None

    @property
    def keys(self) -> IdempotencyKeys:
        return IdempotencyKeys(self.state)

    def audit(
        self,
        action: str,
        request: Mapping[str, Any],
        outcome: Outcome[Any] | str,
        *,
        brusnika_id: int | None = None,
        message: str | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        # The key identifies the submission; it is no secret, but the table has no column for it, so
        # it rides along in the recorded request next to the body.
        if idempotency_key is not None:
            request = {**request, "idempotency_key": idempotency_key}
        word = outcome if isinstance(outcome, str) else outcome.outcome
        text = message if message is not None else ("" if isinstance(outcome, str) else outcome.message)
        entry = actions.ActionRecord(
            user_id=self.actor.id if self.actor else None,
            user_name=self.actor.name if self.actor else None,
            action=action,
            request=request,
            outcome=word,
            brusnika_id=brusnika_id,
            message=text,
        )
        # Under the cache's write lock, like every other write of the forms.
        serialised(self.conn, lambda cur: actions.insert(cur, entry), lock=self.write_lock)
