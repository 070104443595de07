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
    typed = _typed(values)
    if (
        stop := flow.guard(
            ctx,
            "create_booking",
            typed,
            refusal=booking_refusal(ctx.actor),
            refusal_code="actor_cannot_book",
            permission=Action.CREATE_BOOKING,
            resource=flow.for_client(ctx, values.client_id),
            client_id=values.client_id,
        )
    ) is not None:
        return stop
    assert ctx.actor is not None  # booking_refusal checked it
    model, problems = validate(values, agent_id=ctx.actor.id, now=ctx.clock())
    if model is None:
        return flow.invalid(ctx, "create_booking", typed, problems)

    return flow.send(
        ctx,
        "create_booking",
        FORM,
        model.to_wire(),
        lambda k: ctx.client.create_booking(model, idempotency_key=k),
        success_message="Бронь создана.",
        store=lambda booking: local.booking_created(ctx.conn, booking, lock=ctx.write_lock),
        announce=lambda booking: f"Бронь №{booking.id} создана: помещение забронировано.",
    )


def cancel(ctx: FormContext, booking_id: int) -> Outcome[Booking]:
    return flow.cancel(
        ctx,
        "cancel_booking",
        booking_id,
        id_field="booking_id",
        permission=Action.CANCEL_ANY_BOOKING,
        resource=directory.booking_resource(ctx.conn, booking_id),
        call=lambda k: ctx.client.cancel_booking(booking_id, idempotency_key=k),
        success_message=f"Бронь №{booking_id} отменена: помещение снова свободно.",
        store=lambda booking: local.booking_cancelled(ctx.conn, booking, lock=ctx.write_lock),
        create_form=FORM,
    )


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
