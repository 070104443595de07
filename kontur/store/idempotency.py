"""Idempotency keys of submissions, in the store so that a retry after a crash, or the same click
landing on another replica, sends the same `Idempotency-Key` and Brusnika replays its first answer
instead of creating twice.

A key belongs to (form, fingerprint of the payload, acting user). `claim` returns the live key of that
triple or creates one; a changed payload is another fingerprint, so another key (reusing a key with
another body is refused by Brusnika). `settle` records how the submission ended; the key stays live, so
a repeated identical submission still replays. `retire` ends it (the person starts over, e.g. booking
the same premise again after cancelling, or Brusnika answered `idempotency_key_reused`). Keys older
than `MAX_AGE` are retired by the next claim: Brusnika remembers keys for 24 hours, after which the
same key would no longer protect anything.

Claim in its own short `write()` transaction, call Brusnika outside any transaction, then settle in
another: a transaction must never stay open across a network call.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from .db import insert, utcnow
from .schema import submissions

# A little under Brusnika's 24 hours, so a key is never sent when Brusnika may just have forgotten it.
MAX_AGE = dt.timedelta(hours=23)


def fingerprint(payload: Mapping[str, Any]) -> str:
    """SHA-256 of the payload's canonical JSON (sorted keys): the same body, the same fingerprint."""
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Submission:
    key: str  # 32 hex characters: within the contract's 1-64 visible ASCII
    form: str
    fingerprint: str
    actor_id: int
    created_at: dt.datetime
    settled_at: dt.datetime | None
    outcome: str | None
    brusnika_id: int | None
    message: str | None
    retired_at: dt.datetime | None

    @property
    def settled(self) -> bool:
        return self.settled_at is not None


def _submission(row: RowMapping) -> Submission:
    return Submission(**{name: row[name] for name in Submission.__dataclass_fields__})


def claim(
    conn: Connection,
    form: str,
    fingerprint: str,
    actor_id: int,
    *,
    max_age: dt.timedelta = MAX_AGE,
    at: dt.datetime | None = None,
) -> Submission:
    """The live submission of (form, fingerprint, actor), created when there is none (or it is older
    than `max_age`). Two replicas claiming at once get the same key: the partial unique index admits
    one live row per triple, the loser's insert does nothing and it reads the winner's row."""
    now = at or utcnow()
    live = sa.and_(
        submissions.c.form == form,
        submissions.c.fingerprint == fingerprint,
        submissions.c.actor_id == actor_id,
        submissions.c.retired_at.is_(None),
    )
    conn.execute(
        sa.update(submissions).where(live, submissions.c.created_at < now - max_age).values(retired_at=now)
    )
    conn.execute(
        insert(conn, submissions)
        .values(form=form, fingerprint=fingerprint, actor_id=actor_id, key=uuid.uuid4().hex, created_at=now)
        .on_conflict_do_nothing(
            index_elements=["form", "fingerprint", "actor_id"],
            index_where=submissions.c.retired_at.is_(None),
        )
    )
    return _submission(conn.execute(sa.select(submissions).where(live)).mappings().one())


def settle(
    conn: Connection,
    key: str,
    outcome: str,
    *,
    brusnika_id: int | None = None,
    message: str | None = None,
    at: dt.datetime | None = None,
) -> Submission | None:
    """Record how the submission of `key` ended (success | refused | invalid | failed | unknown).
    Settling again overwrites (an `unknown` later found out). None when the key is not known."""
    row = (
        conn.execute(
            sa.update(submissions)
            .where(submissions.c.key == key)
            .values(settled_at=at or utcnow(), outcome=outcome, brusnika_id=brusnika_id, message=message)
            .returning(*submissions.c)
        )
        .mappings()
        .first()
    )
    return None if row is None else _submission(row)


def retire(conn: Connection, key: str, *, at: dt.datetime | None = None) -> bool:
    """End a key's life: the next identical submission gets a fresh key. False when it was not live."""
    result = conn.execute(
        sa.update(submissions)
        .where(submissions.c.key == key, submissions.c.retired_at.is_(None))
        .values(retired_at=at or utcnow())
    )
    return bool(result.rowcount)


def retire_form(conn: Connection, form: str, actor_id: int, *, at: dt.datetime | None = None) -> int:
    """Retire every live key of one person's form (what `IdempotencyKeys.forget(form)` does today)."""
    result = conn.execute(
        sa.update(submissions)
        .where(
            submissions.c.form == form,
            submissions.c.actor_id == actor_id,
            submissions.c.retired_at.is_(None),
        )
        .values(retired_at=at or utcnow())
    )
    return int(result.rowcount)


def get(conn: Connection, key: str) -> Submission | None:
    row = conn.execute(sa.select(submissions).where(submissions.c.key == key)).mappings().first()
    return None if row is None else _submission(row)


def in_flight(
    conn: Connection, *, older_than: dt.timedelta = dt.timedelta(0), at: dt.datetime | None = None
) -> list[Submission]:
    """Live submissions claimed at least `older_than` ago and never settled: sent (or about to be) by
    a process that then died. Repeating each with its key finds out what Brusnika did."""
    cutoff = (at or utcnow()) - older_than
    rows = conn.execute(
        sa.select(submissions)
        .where(
            submissions.c.settled_at.is_(None),
            submissions.c.retired_at.is_(None),
            submissions.c.created_at <= cutoff,
        )
        .order_by(submissions.c.created_at, submissions.c.id)
    ).mappings()
    return [_submission(row) for row in rows]
