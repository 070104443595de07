"""Booking a premise and cancelling a booking."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pydantic import ValidationError

from kontur.auth import directory
from kontur.auth.actor import booking_refusal
from kontur.auth.policy import Action
from kontur.models import Booking, BookingCreate, PurchaseOption

from . import flow, local
from .context import FormContext
from .rules import FieldChecker, check_hhmm, check_not_past
from .submit import Outcome

FORM = "booking"


@dataclass
class BookingInput:
    """What the booking form holds, as typed (widgets' values)."""

    premise_id: int | None
    client_id: int | None
    date: dt.date | None
    time: str
    purchase_option: str | None


def validate(values: BookingInput, *, agent_id: int, now: dt.datetime) -> tuple[BookingCreate | None, dict]:
    """The request model, or the problems keyed by wire field name."""
    checker = FieldChecker()
    checker.require("premise_id", values.premise_id, "Выберите помещение.")
    checker.require("client_id", values.client_id, "Выберите клиента.")
    checker.require("purchase_option", values.purchase_option, "Выберите способ покупки.")
    hhmm = checker.check("time", check_hhmm, values.time)
    checker.check("date", check_not_past, values.date, hhmm, now=now)
    if not checker.ok:
        return None, checker.errors
    try:
        model = BookingCreate(
            premise_id=values.premise_id,
            client_id=values.client_id,
            agent_id=agent_id,
            date=values.date,
            time=hhmm,
            purchase_option=PurchaseOption(values.purchase_option),
        )
    except (ValidationError, ValueError) as error:
        return None, {"form": f"Форма заполнена неверно: {error.__class__.__name__}"}
    return model, {}


def create(ctx: FormContext, values: BookingInput) -> Outcome[Booking]:
    """Book for the agent acted for (`ctx.agent_id`, else the acting person): the wire's `agent_id`
    is that agent, whose booking limit is checked here and counted once the booking is recorded."""
    typed = _typed(values)
    acting = ctx.acting(Action.CREATE_BOOKING)
    if (
        stop := flow.guard(
            ctx,
            "create_booking",
            typed,
            acting=acting,
            refusal_of=booking_refusal,
            refusal_code="actor_cannot_book",
            permission=Action.CREATE_BOOKING,
            resource=flow.for_client(ctx, values.client_id, acting.agent),
            client_id=values.client_id,
        )
    ) is not None:
        return stop
    assert ctx.actor is not None  # the guard checked both
    assert acting.agent is not None
    model, problems = validate(values, agent_id=acting.agent.id, now=ctx.clock())
    if model is None:
        return flow.invalid(ctx, "create_booking", typed, problems)
    actor_id = ctx.actor.id

    return flow.send(
        ctx,
        "create_booking",
        FORM,
        model.to_wire(),
        lambda k: ctx.client.create_booking(model, idempotency_key=k),
        success_message="Бронь создана.",
        record=lambda tx, booking: local.booking_created(tx, booking, recorded_by=actor_id),
        cache=lambda booking: _premise_flag(ctx, booking, True),
        announce=lambda booking: f"Бронь №{booking.id} создана: помещение забронировано.",
    )


def cancel(ctx: FormContext, booking_id: int) -> Outcome[Booking]:
    with ctx.store.read() as tx:
        resource = directory.booking_resource(tx, booking_id)
    actor_id = None if ctx.actor is None else ctx.actor.id
    return flow.cancel(
        ctx,
        "cancel_booking",
        booking_id,
        id_field="booking_id",
        permission=Action.CANCEL_ANY_BOOKING,
        resource=resource,
        call=lambda k: ctx.client.cancel_booking(booking_id, idempotency_key=k),
        success_message=f"Бронь №{booking_id} отменена: помещение снова свободно.",
        record=lambda tx, booking: local.booking_saved(tx, booking, recorded_by=actor_id),
        cache=lambda booking: _premise_flag(ctx, booking, False),
        create_form=FORM,
    )


def _premise_flag(ctx: FormContext, booking: Booking, booked: bool) -> None:
    local.set_premise_booked(ctx.conn, booking.premise_id, booked, lock=ctx.write_lock)


def purchase_options(premise: dict | None) -> list[str]:
    """The ways of buying to offer for a premise: those its record allows, or every one when the
    record lists none (an empty list is allowed by the contract and means "not restricted")."""
    every = [option.value for option in PurchaseOption]
    allowed = list((premise or {}).get("purchase_option") or [])
    return [option for option in every if option in allowed] or every


def _typed(values: BookingInput) -> dict:
    return {
        "premise_id": values.premise_id,
        "client_id": values.client_id,
        "date": values.date.isoformat() if values.date else None,
        "time": values.time,
        "purchase_option": values.purchase_option,
    }
