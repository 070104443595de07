"""The steps every form submission shares, written once: who may act and for whom (`guard`,
`refused_by_policy`), a form with mistakes (`invalid`), sending with the submission's idempotency key,
recording the answer in Kontur's store with its audit row and settling the key (`send`), cancelling a
record (`cancel`) and searching Brusnika (`search`).

The form modules (bookings, visits, clients, agencies) keep only what is theirs: their input, their
rules, the request they build and what a success records.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

from kontur.auth import directory
from kontur.auth.actor import Actor, acting_refusal
from kontur.auth.behalf import Acting
from kontur.auth.policy import Action, NotAllowed, Resource, require
from kontur.store import audit

from . import lookups
from .context import FormContext
from .fixing import fixing_problem
from .rules import InvalidInput
from .submit import STORE_DOWN, STORE_DOWN_MESSAGE, IdempotencyKeys, Outcome, call_plain, call_with_key

log = logging.getLogger(__name__)

R = TypeVar("R")

FIX_FIELDS = "Исправьте отмеченные поля."
FORBIDDEN = "forbidden"
AGENT_NOT_ALLOWED = "agent_not_allowed"
NOT_STORED = (
    "{done} Но сохранить это в Контуре не удалось, поэтому в списках здесь этого пока нет; "
    "повторная отправка этой же формы (повтор безопасен: дубля не будет) это исправит."
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


def agent_resource(ctx: FormContext, agent: Actor | None) -> Resource:
    """A record made for `agent` (their agent_id goes on it): theirs and their agency's."""
    if agent is None:
        return Resource()
    return Resource(agent_id=agent.id, agency_id=agent.agency_id)


def for_client(ctx: FormContext, client_id: int | None, agent: Actor | None) -> Resource:
    """Acting for a client: in scope when the client's agent is (agency roles act for their agency's
    clients). A client not chosen yet is checked as the agent's own, so validation can say what is
    missing instead of a refusal."""
    if client_id is None:
        return agent_resource(ctx, agent)
    with ctx.store.read() as tx:
        return directory.client_resource(tx, client_id)


def guard(
    ctx: FormContext,
    action: str,
    typed: Mapping[str, Any],
    *,
    acting: Acting,
    refusal_of: Callable[[Actor | None], str | None],
    refusal_code: str,
    permission: Action,
    resource: Resource | None = None,
    client_id: int | None = None,
) -> Outcome[Any] | None:
    """None when the acting user may go on for `acting.agent`; otherwise the refusal, already audited.

    In order: the choice of agent (`acting.refusal`); the acting person's own state and, acting for
    someone else, the agent's (`refusal_of`: blocked, no bookings left); the roles policy on
    `resource`; with `client_id`, Brusnika's fixing of that client for the agent acted for (refused,
    expired, fixed to another agent)."""
    if acting.refusal is not None or acting.agent is None:
        message = acting.refusal or acting_refusal(acting.actor) or "Не выбран агент."
        ctx.audit(action, typed, "refused", message=message)
        return Outcome(ok=False, message=message, code=AGENT_NOT_ALLOWED, field_errors={"agent_id": message})
    own_state = acting_refusal(acting.actor) if acting.for_other else None
    refusal = own_state or refusal_of(acting.agent)
    if refusal:
        ctx.audit(action, typed, "refused", message=refusal, on_behalf_of=acting.agent.id)
        return Outcome(ok=False, message=refusal, code=refusal_code)
    if (denied := refused_by_policy(ctx, permission, action, typed, resource=resource)) is not None:
        return denied
    if client_id is None:
        return None
    problem = fixing_problem(
        lookups.client(ctx.store, client_id), client_id, now=ctx.clock(), agent_id=acting.agent.id
    )
    if problem is None:
        return None
    ctx.audit(action, typed, "refused", message=problem.message, on_behalf_of=acting.agent.id)
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
    record: Callable[[Connection, R], object] | None = None,
    cache: Callable[[R], object] | None = None,
    announce: Callable[[R], str] | None = None,
    on_refused: Callable[[Outcome[R]], None] | None = None,
    brusnika_id: int | None = None,
    on_behalf_of: int | None = None,
) -> Outcome[R]:
    """Claim the submission's key, send once with it (`submit.call_with_key`), then in one store
    transaction: `record` what Brusnika answered, the audit row, the key settled. Afterwards `cache`
    updates the cache's flags (a premise or slot taken), best effort: the next sync brings the truth.

    A success is announced only once it is recorded: when the store write fails the person is told
    what happened at Brusnika and that the same submission again repairs it (the key stays live, so
    a repeat replays Brusnika's answer instead of acting twice). `on_refused` may explain a conflict."""
    try:
        key = ctx.keys.key_for(form, payload)
    except Exception:
        log.exception("idempotency key not claimed for %s; nothing sent", form)
        down: Outcome[R] = Outcome(ok=False, message=STORE_DOWN_MESSAGE, code=STORE_DOWN)
        ctx.audit(action, payload, "failed", message=down.message)
        return down
    outcome = call_with_key(form, key, call, ctx.keys, success_message=success_message)
    if outcome.ok and outcome.result is not None:
        outcome.message = announce(outcome.result) if announce is not None else success_message
    elif not outcome.ok and on_refused is not None:
        on_refused(outcome)
    touched = brusnika_id if brusnika_id is not None else _record_id(outcome)
    try:
        with ctx.store.write() as tx:
            if outcome.ok and outcome.result is not None and record is not None:
                record(tx, outcome.result)
            IdempotencyKeys.settle(tx, key, outcome, brusnika_id=touched)
            entry = ctx.entry(
                action, payload, outcome, brusnika_id=touched, idempotency_key=key, on_behalf_of=on_behalf_of
            )
            audit.record_action(tx, entry)
    except Exception:
        log.exception("the answer to %s was not recorded in the store", form)
        if outcome.ok:
            outcome.stored_locally = False
            outcome.message = NOT_STORED.format(done=outcome.message)
        ctx.audit(
            action, payload, outcome, brusnika_id=touched, idempotency_key=key, on_behalf_of=on_behalf_of
        )
        return outcome
    if outcome.ok and outcome.result is not None and cache is not None:
        cache(outcome.result)
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
    record: Callable[[Connection, R], object],
    cache: Callable[[R], object] | None,
    create_form: str,
) -> Outcome[R]:
    """Cancel one record (a booking, a visit). Its own key per record, so cancelling twice replays."""
    payload = {id_field: record_id}
    if (denied := refused_by_policy(ctx, permission, action, payload, resource=resource)) is not None:
        return denied
    outcome = send(
        ctx,
        action,
        f"{action}.{record_id}",
        payload,
        call,
        success_message=success_message,
        record=record,
        cache=cache,
        brusnika_id=record_id,
        on_behalf_of=resource.agent_id,
    )
    if outcome.ok:
        # The same thing may be made again later with exactly the same form: that is a new action.
        try:
            ctx.keys.forget(create_form)
        except Exception:
            log.exception("keys of %s not retired", create_form)
    return outcome


def search(
    query: str,
    *,
    empty_message: str,
    choose: Callable[[str], Callable[[], list[R]]],
    save: Callable[[Sequence[R]], object],
) -> Outcome[list[R]]:
    """Search Brusnika with what was typed. `choose` picks the search for the text (by number or by
    name) and raises `InvalidInput` for a number that cannot be right; what is found is kept in the
    store (`save`), so the other forms can pick it."""
    text = (query or "").strip()
    if not text:
        return _query_problem(empty_message)
    try:
        call = choose(text)
    except InvalidInput as problem:
        return _query_problem(str(problem))
    outcome = call_plain(call)
    if outcome.ok and outcome.result is not None:
        try:
            save(outcome.result)
        except Exception:
            log.exception("search results not recorded in the store")
        outcome.message = f"Найдено: {len(outcome.result)}."
    return outcome


def _query_problem(message: str) -> Outcome[Any]:
    return Outcome(ok=False, message=message, code="invalid", field_errors={"query": message})
