"""Showings: a visit with its time slot in one step, a slot booked alone, and cancelling a visit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kontur.auth import directory
from kontur.auth.actor import acting_refusal
from kontur.auth.policy import Action
from kontur.models import TimeSlot, TimeSlotBookRequest, Visit, VisitCreate

from . import flow, local
from .context import FormContext
from .rules import FieldChecker, check_hhmm, check_not_past
from .submit import Outcome

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
    """A showing for the agent acted for: in a slot of the project's calendar (the slot is booked in
    the same step), or without one on a day and time typed by hand."""
    typed = {**values.__dict__}
    acting = ctx.acting(Action.CREATE_VISIT)
    if (
        stop := flow.guard(
            ctx,
            "create_visit",
            typed,
            acting=acting,
            refusal_of=acting_refusal,
            refusal_code="actor_cannot_act",
            permission=Action.CREATE_VISIT,
            resource=flow.for_client(ctx, values.client_id, acting.agent),
            client_id=values.client_id,
        )
    ) is not None:
        return stop
    assert ctx.actor is not None
    assert acting.agent is not None
    slot = local.time_slot(ctx.conn, values.time_slot_id) if values.time_slot_id else None
    model, problems = validate(values, agent_id=acting.agent.id, now=ctx.clock(), slot=slot)
    if model is None:
        return flow.invalid(ctx, "create_visit", typed, problems)
    actor_id = ctx.actor.id

    def made(visit: Visit) -> str:
        return f"Показ №{visit.id} назначен на {visit.date:%d.%m.%Y} {visit.time}" + (
            "; слот забронирован." if visit.time_slot_id else "."
        )

    return flow.send(
        ctx,
        "create_visit",
        FORM,
        model.to_wire(),
        lambda k: ctx.client.create_visit(model, idempotency_key=k),
        success_message="Показ назначен.",
        record=lambda tx, visit: local.visit_saved(tx, visit, recorded_by=actor_id),
        cache=lambda visit: _slot_flag(ctx, visit, True),
        announce=made,
    )


def _slot_flag(ctx: FormContext, visit: Visit, booked: bool) -> None:
    if visit.time_slot_id is not None:
        local.set_slot_booked(ctx.conn, visit.time_slot_id, booked, lock=ctx.write_lock)


def cancel(ctx: FormContext, visit_id: int) -> Outcome[Visit]:
    with ctx.store.read() as tx:
        resource = directory.visit_resource(tx, visit_id)
    actor_id = None if ctx.actor is None else ctx.actor.id
    return flow.cancel(
        ctx,
        "cancel_visit",
        visit_id,
        id_field="visit_id",
        permission=Action.CANCEL_VISIT,
        resource=resource,
        call=lambda k: ctx.client.cancel_visit(visit_id, idempotency_key=k),
        success_message=f"Показ №{visit_id} отменён; слот освобождён.",
        record=lambda tx, visit: local.visit_saved(tx, visit, recorded_by=actor_id),
        cache=lambda visit: _slot_flag(ctx, visit, False),
        create_form=FORM,
    )


def book_slot(ctx: FormContext, slot_id: int | None, client_id: int | None) -> Outcome[TimeSlot]:
    """A slot held for a client of the agent acted for, without a visit record (the contract's
    separate method)."""
    asked = {"slot_id": slot_id, "client_id": client_id}
    acting = ctx.acting(Action.BOOK_TIME_SLOT)
    if (
        stop := flow.guard(
            ctx,
            "book_time_slot",
            asked,
            acting=acting,
            refusal_of=acting_refusal,
            refusal_code="actor_cannot_act",
            permission=Action.BOOK_TIME_SLOT,
            resource=flow.for_client(ctx, client_id, acting.agent),
            client_id=client_id,
        )
    ) is not None:
        return stop
    assert ctx.actor is not None
    assert acting.agent is not None
    checker = FieldChecker()
    checker.require("time_slot_id", slot_id, "Выберите слот.")
    checker.require("client_id", client_id, "Выберите клиента.")
    slot = local.time_slot(ctx.conn, slot_id) if slot_id else None
    if slot_id and slot is None:
        checker.errors["time_slot_id"] = "Слот не найден — обновите список слотов."
    elif slot is not None:
        checker.check("time_slot_id", check_not_past, slot["date"], slot["time"], now=ctx.clock())
    if not checker.ok or slot_id is None or client_id is None:
        return flow.invalid(ctx, "book_time_slot", asked, checker.errors)
    request = TimeSlotBookRequest(agent_id=acting.agent.id, client_id=client_id)

    # The form's key stays after a success (as for every form): the same submission again (a double
    # click, a retry) replays Brusnika's answer; another slot or client is another key.
    return flow.send(
        ctx,
        "book_time_slot",
        SLOT_FORM,
        {"slot_id": slot_id, **request.to_wire()},
        lambda k: ctx.client.book_time_slot(slot_id, request, idempotency_key=k),
        success_message="Слот забронирован.",
        cache=lambda _slot: local.set_slot_booked(ctx.conn, slot_id, True, lock=ctx.write_lock),
        brusnika_id=slot_id,
    )
