"""The one way a form talks to Brusnika: an idempotency key per submission, the call, errors in words,
and the audit record.

Why a key bound to the payload: Streamlit reruns the script on every click, and a person may click
twice or retry after a timeout, on this replica or, behind a load balancer, on another one, or after
the dashboard restarted. The key lives in the operational store (`kontur.store.idempotency`) next to
a fingerprint of what is sent and who sends it: the same payload from the same person always goes
with the same key (Brusnika replays its first answer, so exactly one booking exists), while a changed
payload gets a fresh key (reusing a key with another body is refused with `idempotency_key_reused`).
A key is claimed in a short transaction of its own before the call and settled after it; no
transaction stays open across the call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from kontur import errors
from kontur.store import idempotency

from .messages import ACCEPTED_UNREADABLE, NO_ANSWER_UNKNOWN, describe, field_errors

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from kontur.store.db import Store

log = logging.getLogger(__name__)

R = TypeVar("R")

UNKNOWN = "unavailable_unknown"  # no answer within the budget: done or not, we cannot tell
UNREADABLE = "unreadable_answer"  # a 2xx whose body breaks the contract: done, details unknown
STORE_DOWN = "store_unavailable"  # Kontur's own database could not be written: nothing was sent
STORE_DOWN_MESSAGE = (
    "Контур не может записать действие в свою базу данных, поэтому ничего не отправлено в Брусника. "
    "Повторите чуть позже; если не пройдёт — сообщите администратору."
)


class IdempotencyKeys:
    """The idempotency keys of one person's submissions, kept in the operational store (shared by
    replicas, kept across restarts). `actor_id` is the person acting (not the agent acted for)."""

    def __init__(self, store: Store, actor_id: int) -> None:
        self._store = store
        self._actor_id = actor_id

    def key_for(self, form: str, payload: Mapping[str, Any]) -> str:
        """The live key of this form and payload, claimed now when there is none (its own short
        transaction: two replicas claiming at once get the same key)."""
        with self._store.write() as tx:
            return idempotency.claim(tx, form, idempotency.fingerprint(payload), self._actor_id).key

    @staticmethod
    def settle(tx: Connection, key: str, outcome: Outcome[Any], *, brusnika_id: int | None = None) -> None:
        """Record how the submission of `key` ended, in the caller's transaction (with the record and
        the audit row). A definite refusal retires the key too: nothing was made, so the same form
        sent again later (the cause fixed) is a new request, not a replay of the refusal. A success or
        an unknown end keeps it: a repeat must replay, never act twice."""
        idempotency.settle(tx, key, outcome.outcome, brusnika_id=brusnika_id, message=outcome.message)
        if outcome.outcome == "refused":
            idempotency.retire(tx, key)

    def forget(self, form: str) -> None:
        """Retire the form's keys, so an identical later submission is a new action (e.g. booking the
        same premise again after cancelling it)."""
        with self._store.write() as tx:
            idempotency.retire_form(tx, form, self._actor_id)


@dataclass
class Outcome(Generic[R]):
    """What happened to one submission, ready for a page to show."""

    ok: bool
    message: str
    result: R | None = None
    code: str | None = None  # conflict code, "validation_error", "unavailable", "unknown", …
    field_errors: dict[str, str] = field(default_factory=dict)  # keyed by wire field name
    created_for_sure: bool | None = None  # None: we could not find out
    details: dict[str, Any] = field(default_factory=dict)
    # False: Brusnika did it, but the local record of it could not be written (said in `message`).
    stored_locally: bool = True

    @property
    def outcome(self) -> str:
        """The short outcome word kept in the audit table."""
        if self.ok:
            return "success" if self.stored_locally else "unsaved"
        if self.code in (UNKNOWN, UNREADABLE):
            return "unknown"
        return "refused" if self.code != "unavailable" else "failed"


def _code_of(error: errors.BrusnikaError) -> str:
    if isinstance(error, errors.ConflictError):
        return str(error.code)
    if isinstance(error, errors.IdempotencyKeyReusedError):
        return "idempotency_key_reused"
    if isinstance(error, errors.RequestValidationError):
        return "validation_error"
    return type(error).__name__


def _refused(error: errors.BrusnikaError, prefix: str = "") -> Outcome[Any]:
    details = getattr(error, "details", None)
    problems = field_errors(error) if isinstance(error, errors.RequestValidationError) else {}
    return Outcome(
        ok=False,
        message=(prefix + describe(error)).strip(),
        code=_code_of(error),
        field_errors=problems,
        created_for_sure=False,
        details=details if isinstance(details, dict) else {},
    )


def call_with_key(
    form: str,
    key: str,
    call: Callable[[str], R],
    keys: IdempotencyKeys,
    *,
    success_message: str,
) -> Outcome[R]:
    """Send one submission with its key (claimed by the caller). Repeats after a lost answer happen
    below, in the client's retry transport (same key, same body: Brusnika replays what it did or does
    it now), within the interactive budget; when that ends without an answer the result is unknown
    and the key is kept, so the person's repeat is safe."""
    try:
        return Outcome(ok=True, message=success_message, result=call(key), created_for_sure=True)
    except errors.IdempotencyKeyReusedError as error:
        keys.forget(form)
        return _refused(error)
    except errors.UnavailableError:
        return Outcome(ok=False, message=NO_ANSWER_UNKNOWN, code=UNKNOWN)
    except errors.UnexpectedResponseError as error:
        if _accepted(error):
            return Outcome(ok=False, message=ACCEPTED_UNREADABLE, code=UNREADABLE)
        return _refused(error)
    except errors.BrusnikaError as error:
        return _refused(error)


def call_plain(call: Callable[[], R], *, success_message: str = "") -> Outcome[R]:
    """Searches and the users upsert: repeatable by nature, no key, errors still in words."""
    try:
        return Outcome(ok=True, message=success_message, result=call())
    except errors.UnavailableError:
        return Outcome(
            ok=False, message="Брусника не ответила. Попробуйте ещё раз чуть позже.", code="unavailable"
        )
    except errors.UnexpectedResponseError as error:
        if _accepted(error):
            return Outcome(ok=False, message=ACCEPTED_UNREADABLE, code=UNREADABLE)
        return _refused(error)
    except errors.BrusnikaError as error:
        return _refused(error)


def _accepted(error: errors.UnexpectedResponseError) -> bool:
    """A success status whose body breaks the contract: Brusnika did act, we cannot read how."""
    return error.status is not None and 200 <= error.status < 300
