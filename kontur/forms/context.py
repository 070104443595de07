"""What every form action needs: the client, the cache connection (Brusnika's lists), Kontur's
operational store (its own records), who acts and for which agent."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb

from kontur.auth import behalf
from kontur.auth.actor import Actor
from kontur.auth.policy import Action
from kontur.store import audit
from kontur.store.db import Store

from .submit import IdempotencyKeys, Outcome
from .writes import WriteLock

if TYPE_CHECKING:
    from kontur.client import BrusnikaClient

log = logging.getLogger(__name__)


def _local_now() -> dt.datetime:
    return dt.datetime.now()


def actor_label(actor: Actor | None) -> str | None:
    """Who acted, as the audit names them: «Фамилия Имя <signed-in email> (#id)»."""
    return None if actor is None else f"{actor.name} (#{actor.id})"


@dataclass
class FormContext:
    client: BrusnikaClient
    conn: duckdb.DuckDBPyConnection  # a cursor of the cache: premises, slots, projects (Brusnika's)
    store: Store  # Kontur's own records: directory, audit, bookings, keys (shared by replicas)
    actor: Actor | None
    clock: Callable[[], dt.datetime] = field(default=_local_now)
    # The cache's write lock (`Cache.write_lock`): the cache flags a form changes (a premise booked, a
    # slot taken) are written under it, as the sync commits. None only where nothing else writes.
    write_lock: WriteLock | None = None
    # The agent chosen on the page to act for (None: the actor themself); checked by `acting()`.
    agent_id: int | None = None

    @property
    def keys(self) -> IdempotencyKeys:
        assert self.actor is not None, "keys belong to a person: the guards refuse before"
        return IdempotencyKeys(self.store, self.actor.id)

    def acting(self, action: Action) -> behalf.Acting:
        """Who acts and for which agent in `action`, read afresh from the directory (the agent's
        status and booking limit as stored now)."""
        with self.store.read() as tx:
            return behalf.resolve(tx, self.actor, self.agent_id, action)

    def audit(
        self,
        action: str,
        request: Mapping[str, Any],
        outcome: Outcome[Any] | str,
        *,
        brusnika_id: int | None = None,
        message: str | None = None,
        idempotency_key: str | None = None,
        on_behalf_of: int | None = None,
    ) -> None:
        """One audit row in a transaction of its own (the store shared by every replica). When the
        store cannot be written the row is logged instead: the person's answer is not lost for it."""
        entry = self.entry(
            action,
            request,
            outcome,
            brusnika_id=brusnika_id,
            message=message,
            idempotency_key=idempotency_key,
            on_behalf_of=on_behalf_of,
        )
        try:
            with self.store.write() as tx:
                audit.record_action(tx, entry)
        except Exception:
            log.exception("audit row not written: %s %s by #%s", entry.action, entry.outcome, entry.actor_id)

    def entry(
        self,
        action: str,
        request: Mapping[str, Any],
        outcome: Outcome[Any] | str,
        *,
        brusnika_id: int | None = None,
        message: str | None = None,
        idempotency_key: str | None = None,
        on_behalf_of: int | None = None,
    ) -> audit.ActionEntry:
        word = outcome if isinstance(outcome, str) else outcome.outcome
        text = message if message is not None else ("" if isinstance(outcome, str) else outcome.message)
        if on_behalf_of is None:
            agent = request.get("agent_id")
            on_behalf_of = agent if isinstance(agent, int) else None
        return audit.ActionEntry(
            action=action,
            outcome=word,
            actor_id=None if self.actor is None else self.actor.id,
            actor=actor_label(self.actor),
            on_behalf_of=on_behalf_of,
            request=dict(request),
            brusnika_id=brusnika_id,
            message=text or None,
            idempotency_key=idempotency_key,
        )
