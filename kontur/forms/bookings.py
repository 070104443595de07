"""Booking a premise and cancelling a booking."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pydantic import ValidationError

from kontur.auth import enforce
from kontur.auth.policy import Action
from kontur.models import Booking, BookingCreate, PurchaseOption

from . import local
from .context import FormContext
from .identity import booking_refusal
from .rules import FieldChecker, check_hhmm, check_not_past
from .submit import Outcome, call_with_key

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
    refusal = booking_refusal(ctx.actor)
    if refusal:
        ctx.audit("create_booking", _typed(values), "refused", message=refusal)
        return Outcome(ok=False, message=refusal, code="actor_cannot_book")
    assert ctx.actor is not None  # booking_refusal checked it
    scope = enforce.for_client(ctx, values.client_id)
    if denied := enforce.refusal(
        ctx, Action.CREATE_BOOKING, "create_booking", _typed(values), resource=scope
    ):
        return denied
    model, problems = validate(values, agent_id=ctx.actor.id, now=ctx.clock())
    if model is None:
        outcome: Outcome[Booking] = Outcome(
            ok=False, message="Исправьте отмеченные поля.", code="invalid", field_errors=problems
        )
        ctx.audit("create_booking", _typed(values), "invalid", message=outcome.message)
        return outcome
    payload = model.to_wire()
    key = ctx.keys.key_for(FORM, payload)
    outcome = call_with_key(
        FORM,
        payload,
        lambda k: ctx.client.create_booking(model, idempotency_key=k),
        ctx.keys,
        success_message="Бронь создана.",
    )
    if outcome.ok and outcome.result is not None:
        booking = outcome.result
        outcome.message = f"Бронь №{booking.id} создана: помещение забронировано."
        local.booking_created(ctx.conn, booking)
    ctx.audit(
        "create_booking",
        payload,
        outcome,
        brusnika_id=outcome.result.id if outcome.result else None,
        idempotency_key=key,
    )
    return outcome


def cancel(ctx: FormContext, booking_id: int) -> Outcome[Booking]:
    form = f"cancel_booking.{booking_id}"
    payload = {"booking_id": booking_id}
    scope = enforce.booking(ctx, booking_id)
    if denied := enforce.refusal(ctx, Action.CANCEL_ANY_BOOKING, "cancel_booking", payload, resource=scope):
        return denied
    key = ctx.keys.key_for(form, payload)
    outcome = call_with_key(
        form,
        payload,
        lambda k: ctx.client.cancel_booking(booking_id, idempotency_key=k),
        ctx.keys,
        success_message=f"Бронь №{booking_id} отменена: помещение снова свободно.",
    )
    if outcome.ok and outcome.result is not None:
        local.booking_cancelled(ctx.conn, outcome.result)
        # The premise may be booked again later with exactly the same form: that is a new action.
        ctx.keys.forget(FORM)
    ctx.audit("cancel_booking", payload, outcome, brusnika_id=booking_id, idempotency_key=key)
    return outcome


def _typed(values: BookingInput) -> dict:
    return {
        "premise_id": values.premise_id,
        "client_id": values.client_id,
        "date": values.date.isoformat() if values.date else None,
        "time": values.time,
        "purchase_option": values.purchase_option,
    }
