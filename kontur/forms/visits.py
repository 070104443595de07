"""Showings: a visit with its time slot in one step, a slot booked alone, and cancelling a visit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kontur.auth import enforce
from kontur.auth.policy import Action
from kontur.models import TimeSlot, TimeSlotBookRequest, Visit, VisitCreate

from . import local
from .context import FormContext
from .identity import acting_refusal
from .rules import FieldChecker, check_hhmm, check_not_past
from .submit import Outcome, call_with_key

FORM = "visit"
SLOT_FORM = "time_slot"


@dataclass
class VisitInput:
    project_id: int | None
    client_id: int | None
    time_slot_id: int | None
    # Without a slot the person types the day and time; with one, they come from the slot.
    date: dt.date | None = None
    time: str = ""


def validate(
    values: VisitInput, *, agent_id: int, now: dt.datetime, slot: dict | None
) -> tuple[VisitCreate | None, dict[str, str]]:
    checker = FieldChecker()
    checker.require("project_id", values.project_id, "Выберите проект.")
    checker.require("client_id", values.client_id, "Выберите клиента.")
    day, typed_time = values.date, values.time
    if values.time_slot_id is not None:
        if slot is None:
            checker.errors["time_slot_id"] = "Слот не найден — обновите список слотов."
        else:
            day, typed_time = slot["date"], slot["time"]
    hhmm = checker.check("time", check_hhmm, typed_time)
    field = "time_slot_id" if values.time_slot_id is not None else "date"
    checker.check(field, check_not_past, day, hhmm, now=now)
    if not checker.ok:
        return None, checker.errors
    return (
        VisitCreate(
            project_id=values.project_id,
            agent_id=agent_id,
            client_id=values.client_id,
            date=day,
            time=hhmm,
            time_slot_id=values.time_slot_id,
        ),
        {},
    )


def create(ctx: FormContext, values: VisitInput) -> Outcome[Visit]:
    refusal = acting_refusal(ctx.actor)
    if refusal:
        ctx.audit("create_visit", {**values.__dict__}, "refused", message=refusal)
        return Outcome(ok=False, message=refusal, code="actor_cannot_act")
    assert ctx.actor is not None
    scope = enforce.for_client(ctx, values.client_id)
    if denied := enforce.refusal(ctx, Action.CREATE_VISIT, "create_visit", values.__dict__, resource=scope):
        return denied
    slot = local.time_slot(ctx.conn, values.time_slot_id) if values.time_slot_id else None
    model, problems = validate(values, agent_id=ctx.actor.id, now=ctx.clock(), slot=slot)
    if model is None:
        outcome: Outcome[Visit] = Outcome(
            ok=False, message="Исправьте отмеченные поля.", code="invalid", field_errors=problems
        )
        ctx.audit("create_visit", {**values.__dict__}, "invalid", message=outcome.message)
        return outcome
    payload = model.to_wire()
    key = ctx.keys.key_for(FORM, payload)
    outcome = call_with_key(
        FORM,
        payload,
        lambda k: ctx.client.create_visit(model, idempotency_key=k),
        ctx.keys,
        success_message="Показ назначен.",
    )
    if outcome.ok and outcome.result is not None:
        visit = outcome.result
        outcome.message = f"Показ №{visit.id} назначен на {visit.date:%d.%m.%Y} {visit.time}" + (
            "; слот забронирован." if visit.time_slot_id else "."
        )
        local.visit_saved(ctx.conn, visit, slot_booked=True)
    ctx.audit(
        "create_visit",
        payload,
        outcome,
        brusnika_id=outcome.result.id if outcome.result else None,
        idempotency_key=key,
    )
    return outcome


def cancel(ctx: FormContext, visit_id: int) -> Outcome[Visit]:
    form = f"cancel_visit.{visit_id}"
    payload = {"visit_id": visit_id}
    scope = enforce.visit(ctx, visit_id)
    if denied := enforce.refusal(ctx, Action.CANCEL_VISIT, "cancel_visit", payload, resource=scope):
        return denied
    key = ctx.keys.key_for(form, payload)
    outcome = call_with_key(
        form,
        payload,
        lambda k: ctx.client.cancel_visit(visit_id, idempotency_key=k),
        ctx.keys,
        success_message=f"Показ №{visit_id} отменён; слот освобождён.",
    )
    if outcome.ok and outcome.result is not None:
        local.visit_saved(ctx.conn, outcome.result, slot_booked=False)
        ctx.keys.forget(FORM)
    ctx.audit("cancel_visit", payload, outcome, brusnika_id=visit_id, idempotency_key=key)
    return outcome


def book_slot(ctx: FormContext, slot_id: int | None, client_id: int | None) -> Outcome[TimeSlot]:
    """A slot held for a client without a visit record (the contract's separate method)."""
    refusal = acting_refusal(ctx.actor)
    if refusal:
        ctx.audit("book_time_slot", {"slot_id": slot_id, "client_id": client_id}, "refused", message=refusal)
        return Outcome(ok=False, message=refusal, code="actor_cannot_act")
    assert ctx.actor is not None
    asked = {"slot_id": slot_id, "client_id": client_id}
    scope = enforce.for_client(ctx, client_id)
    if denied := enforce.refusal(ctx, Action.BOOK_TIME_SLOT, "book_time_slot", asked, resource=scope):
        return denied
    checker = FieldChecker()
    checker.require("time_slot_id", slot_id, "Выберите слот.")
    checker.require("client_id", client_id, "Выберите клиента.")
    slot = local.time_slot(ctx.conn, slot_id) if slot_id else None
    if slot_id and slot is None:
        checker.errors["time_slot_id"] = "Слот не найден — обновите список слотов."
    elif slot is not None:
        checker.check("time_slot_id", check_not_past, slot["date"], slot["time"], now=ctx.clock())
    if not checker.ok:
        ctx.audit("book_time_slot", {"slot_id": slot_id, "client_id": client_id}, "invalid")
        return Outcome(
            ok=False, message="Исправьте отмеченные поля.", code="invalid", field_errors=checker.errors
        )
    request = TimeSlotBookRequest(agent_id=ctx.actor.id, client_id=client_id)
    payload = {"slot_id": slot_id, **request.to_wire()}
    key = ctx.keys.key_for(SLOT_FORM, payload)
    outcome = call_with_key(
        SLOT_FORM,
        payload,
        lambda k: ctx.client.book_time_slot(slot_id, request, idempotency_key=k),
        ctx.keys,
        success_message="Слот забронирован.",
    )
    if outcome.ok:
        local.set_slot_booked(ctx.conn, slot_id, True)
    ctx.audit("book_time_slot", payload, outcome, brusnika_id=slot_id, idempotency_key=key)
    return outcome
