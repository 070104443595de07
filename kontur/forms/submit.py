"""The one way a form talks to Brusnika: an idempotency key per submission, the call, errors in words,
and the audit record.

Why a key bound to the payload: Streamlit reruns the script on every click, and a person may click
twice or retry after a timeout. The key lives in session state next to a fingerprint of what is sent;
the same payload always goes with the same key (Brusnika replays its first answer, so exactly one
booking exists), while a changed payload gets a fresh key (reusing a key with another body is refused
with `idempotency_key_reused`).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from kontur import errors

from .messages import ACCEPTED_UNREADABLE, NO_ANSWER_UNKNOWN, describe, field_errors

R = TypeVar("R")

_STATE_PREFIX = "kontur.idempotency."
UNKNOWN = "unavailable_unknown"  # no answer within the budget: done or not, we cannot tell
UNREADABLE = "unreadable_answer"  # a 2xx whose body breaks the contract: done, details unknown


def fingerprint(payload: Mapping[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyKeys:
    """Idempotency keys of a session's forms, stored in a mapping that survives reruns
    (`st.session_state` in the app, a plain dict in tests)."""

    def __init__(self, state: MutableMapping[str, Any]) -> None:
        self._state = state

    def key_for(self, form: str, payload: Mapping[str, Any]) -> str:
        slot = _STATE_PREFIX + form
        digest = fingerprint(payload)
        held = self._state.get(slot)
        if isinstance(held, dict) and held.get("fingerprint") == digest:
            return str(held["key"])
        key = uuid.uuid4().hex  # 32 visible ASCII characters, within the contract's 1-64
        self._state[slot] = {"fingerprint": digest, "key": key}
        return key

    def forget(self, form: str) -> None:
        """Drop the form's key, so an identical later submission is a new action (e.g. booking the
        same premise again after cancelling it)."""
        self._state.pop(_STATE_PREFIX + form, None)


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
    payload: Mapping[str, Any],
    call: Callable[[str], R],
    keys: IdempotencyKeys,
    *,
    success_message: str,
) -> Outcome[R]:
    """Send one submission with its key. Repeats after a lost answer happen below, in the client's
    retry transport (same key, same body: Brusnika replays what it did or does it now), within the
    interactive budget; when that ends without an answer the result is unknown and the key is kept,
    so the person's repeat is safe."""
    key = keys.key_for(form, payload)
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
