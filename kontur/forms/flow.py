"""The steps every form submission shares, written once: who may act (`guard`), a form with mistakes
(`invalid`), sending with the submission's idempotency key and auditing how it ended (`send`),
cancelling a record (`cancel`) and searching Brusnika (`search`).

The form modules (bookings, visits, clients, agencies) keep only what is theirs: their input, their
rules, the request they build and what a success changes locally.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from kontur.auth import enforce
from kontur.auth.policy import Action, Resource

from .context import FormContext
from .rules import InvalidInput
from .submit import Outcome, call_plain, call_with_key

R = TypeVar("R")

FIX_FIELDS = "Исправьте отмеченные поля."


def guard(
    ctx: FormContext,
    action: str,
    typed: Mapping[str, Any],
    *,
    refusal: str | None,
    refusal_code: str,
    permission: Action,
    resource: Resource | None = None,
) -> Outcome[Any] | None:
    """None when the acting user may go on; otherwise the refusal, already audited. `refusal` is the
    acting user's own state (blocked, no bookings left), checked before the roles policy."""
    if refusal:
        ctx.audit(action, typed, "refused", message=refusal)
        return Outcome(ok=False, message=refusal, code=refusal_code)
    return enforce.refusal(ctx, permission, action, typed, resource=resource)


def invalid(
    ctx: FormContext, action: str, typed: Mapping[str, Any], problems: dict[str, str]
) -> Outcome[Any]:
    """The form is kept as typed; each wrong field gets its message (keyed by wire field name)."""
    outcome: Outcome[Any] = Outcome(ok=False, message=FIX_FIELDS, code="invalid", field_errors=problems)
    ctx.audit(action, typed, "invalid", message=outcome.message)
    return outcome


def send(
    ctx: FormContext,
    action: str,
    form: str,
    payload: Mapping[str, Any],
    call: Callable[[str], R],
    *,
    success_message: str,
    on_success: Callable[[R], str | None] | None = None,
    on_refused: Callable[[Outcome[R]], None] | None = None,
    brusnika_id: int | None = None,
) -> Outcome[R]:
    """Send once with the form's key (`submit.call_with_key`), let the caller settle the outcome
    (`on_success` stores the result locally and may return the message to show; `on_refused` may
    explain a conflict), then audit it with the Brusnika record it touched."""
    key = ctx.keys.key_for(form, payload)
    outcome = call_with_key(form, payload, call, ctx.keys, success_message=success_message)
    if outcome.ok and outcome.result is not None:
        if on_success is not None and (message := on_success(outcome.result)) is not None:
            outcome.message = message
    elif not outcome.ok and on_refused is not None:
        on_refused(outcome)
    ctx.audit(
        action,
        payload,
        outcome,
        brusnika_id=brusnika_id if brusnika_id is not None else _record_id(outcome),
        idempotency_key=key,
    )
    return outcome


def _record_id(outcome: Outcome[Any]) -> int | None:
    """The Brusnika record an outcome is about: the one created, or the existing one a conflict named
    (`agency_exists`)."""
    for record in (outcome.result, outcome.details.get("existing")):
        record_id = getattr(record, "id", None)
        if isinstance(record_id, int):
            return record_id
    return None


def cancel(
    ctx: FormContext,
    action: str,
    record_id: int,
    *,
    id_field: str,
    permission: Action,
    resource: Resource,
    call: Callable[[str], R],
    success_message: str,
    on_success: Callable[[R], object],
    create_form: str,
) -> Outcome[R]:
    """Cancel one record (a booking, a visit). Its own key per record, so cancelling twice replays."""
    payload = {id_field: record_id}
    if (denied := enforce.refusal(ctx, permission, action, payload, resource=resource)) is not None:
        return denied

    def cancelled(result: R) -> None:
        on_success(result)
        # The same thing may be made again later with exactly the same form: that is a new action.
        ctx.keys.forget(create_form)

    return send(
        ctx,
        action,
        f"{action}.{record_id}",
        payload,
        call,
        success_message=success_message,
        on_success=cancelled,
        brusnika_id=record_id,
    )


def search(
    query: str,
    *,
    empty_message: str,
    choose: Callable[[str], Callable[[], list[R]]],
    save: Callable[[Sequence[R]], object],
) -> Outcome[list[R]]:
    """Search Brusnika with what was typed. `choose` picks the search for the text (by number or by
    name) and raises `InvalidInput` for a number that cannot be right; what is found is kept locally
    (`save`), so the other forms can pick it."""
    text = (query or "").strip()
    if not text:
        return _query_problem(empty_message)
    try:
        call = choose(text)
    except InvalidInput as problem:
        return _query_problem(str(problem))
    outcome = call_plain(call)
    if outcome.ok and outcome.result is not None:
        save(outcome.result)
        outcome.message = f"Найдено: {len(outcome.result)}."
    return outcome


def _query_problem(message: str) -> Outcome[Any]:
    return Outcome(ok=False, message=message, code="invalid", field_errors={"query": message})
