"""The steps every form submission shares, written once: who may act (`guard`, `refused_by_policy`), a form
with mistakes (`invalid`), sending with the submission's idempotency key, storing the answer locally
and auditing how it ended (`send`), cancelling a record (`cancel`) and searching Brusnika (`search`).

The form modules (bookings, visits, clients, agencies) keep only what is theirs: their input, their
rules, the request they build and what a success changes locally.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from kontur.auth import directory
from kontur.auth.policy import Action, NotAllowed, Resource, require

from . import lookups
from .context import FormContext
from .fixing import fixing_problem
from .rules import InvalidInput
from .submit import Outcome, call_plain, call_with_key

R = TypeVar("R")

FIX_FIELDS = "Исправьте отмеченные поля."
FORBIDDEN = "forbidden"
NOT_STORED = (
    "{done} Но сохранить это в Контуре не удалось, поэтому в списках здесь этого пока нет. "
    "Следующая синхронизация или повторная отправка этой же формы (повтор безопасен: дубля не будет) "
    "это исправит."
)


def refused_by_policy(
    ctx: FormContext,
    action: Action,
    audit_action: str,
    request: Mapping[str, Any],
    *,
    resource: Resource | None = None,
) -> Outcome[Any] | None:
    """The roles policy, applied before anything is sent: None when the acting user may do this;
    otherwise the refused outcome (code `forbidden`, the reason in words), already audited."""
    try:
        require(ctx.actor, action, resource=resource)
    except NotAllowed as refused:
        outcome: Outcome[Any] = Outcome(ok=False, message=str(refused), code=FORBIDDEN)
        ctx.audit(audit_action, request, "refused", message=outcome.message)
        return outcome
    return None


def own(ctx: FormContext) -> Resource:
    """A record the acting user makes for themself (their agent_id goes on it)."""
    actor = ctx.actor
    return Resource(
        agent_id=None if actor is None else actor.id,
        agency_id=None if actor is None else actor.agency_id,
    )


def for_client(ctx: FormContext, client_id: int | None) -> Resource:
    """Acting for a client: in scope when the client's agent is (agency roles act for their agency's
    clients). A client not chosen yet is checked as the user's own, so validation can say what is
    missing instead of a refusal."""
    if client_id is None:
        return own(ctx)
    return directory.client_resource(ctx.conn, client_id)


def guard(
    ctx: FormContext,
    action: str,
    typed: Mapping[str, Any],
    *,
    refusal: str | None,
    refusal_code: str,
    permission: Action,
    resource: Resource | None = None,
    client_id: int | None = None,
) -> Outcome[Any] | None:
    """None when the acting user may go on; otherwise the refusal, already audited. `refusal` is the
    acting user's own state (blocked, no bookings left), checked before the roles policy; with
    `client_id`, Brusnika's fixing of that client is checked last (a refused or expired fixing)."""
    if refusal:
        ctx.audit(action, typed, "refused", message=refusal)
        return Outcome(ok=False, message=refusal, code=refusal_code)
    if (denied := refused_by_policy(ctx, permission, action, typed, resource=resource)) is not None:
        return denied
    if client_id is None:
        return None
    problem = fixing_problem(lookups.client(ctx.conn, client_id), client_id, now=ctx.clock())
    if problem is None:
        return None
    ctx.audit(action, typed, "refused", message=problem.message)
    return Outcome(
        ok=False, message=problem.message, code=problem.code, field_errors={"client_id": problem.message}
    )


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
    store: Callable[[R], bool] | None = None,
    announce: Callable[[R], str] | None = None,
    on_refused: Callable[[Outcome[R]], None] | None = None,
    brusnika_id: int | None = None,
) -> Outcome[R]:
    """Send once with the form's key (`submit.call_with_key`), settle the outcome, audit it with the
    Brusnika record it touched.

    On success `store` keeps the answer locally (True when it did) and `announce` words the success.
    A success is announced only once it is stored: when the local write fails the person is told
    what happened at Brusnika and that the next sync or the same submission again repairs it (the
    key is kept, so a repeat replays Brusnika's answer instead of acting twice). `on_refused` may
    explain a conflict."""
    key = ctx.keys.key_for(form, payload)
    outcome = call_with_key(form, payload, call, ctx.keys, success_message=success_message)
    if outcome.ok and outcome.result is not None:
        done = announce(outcome.result) if announce is not None else success_message
        if store is not None and not store(outcome.result):
            outcome.stored_locally = False
            outcome.message = NOT_STORED.format(done=done)
        else:
            outcome.message = done
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
    store: Callable[[R], bool],
    create_form: str,
) -> Outcome[R]:
    """Cancel one record (a booking, a visit). Its own key per record, so cancelling twice replays."""
    payload = {id_field: record_id}
    if (denied := refused_by_policy(ctx, permission, action, payload, resource=resource)) is not None:
        return denied

    def stored(result: R) -> bool:
        # The same thing may be made again later with exactly the same form: that is a new action.
        ctx.keys.forget(create_form)
        return store(result)

    return send(
        ctx,
        action,
        f"{action}.{record_id}",
        payload,
        call,
        success_message=success_message,
        store=stored,
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
