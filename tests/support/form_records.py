"""Records made through the real form functions (`kontur.forms`), as a user of the dashboard would:
a client, a booking of a premise; and the landline phone numbers the form tests register clients with.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

from kontur.forms import bookings, clients
from kontur.forms.context import FormContext
from kontur.models import Booking, Client


def landline(n: int) -> str:
    """+7 812 …: a landline code, never one of the sandbox's generated +79… client phones, so a
    fixing decision depends only on what the tests create."""
    return f"8 (812) {n // 10000 % 1000:03d}-{n // 100 % 100:02d}-{n % 100:02d}"


def landlines(start: int, step: int) -> Callable[[], str]:
    """A fresh landline per call: `start`, `start + step`, ... (each test module its own range)."""
    numbers = itertools.count(start, step)
    return lambda: landline(next(numbers))


def client_through_forms(ctx: FormContext, fullname: str, phone_number: str) -> Client:
    made = clients.create(ctx, clients.ClientInput(fullname=fullname, phone_number=phone_number))
    assert made.ok, made.message
    assert made.result is not None
    return made.result


def book_through_forms(
    ctx: FormContext, premise: dict[str, Any], client_id: int, *, days_ahead: int, time: str
) -> Booking:
    """The premise booked for the client `days_ahead` days from today, with its first purchase option."""
    booked = bookings.create(
        ctx,
        bookings.BookingInput(
            premise_id=premise["id"],
            client_id=client_id,
            date=dt.date.today() + dt.timedelta(days=days_ahead),
            time=time,
            purchase_option=premise["purchase_option"][0],
        ),
    )
    assert booked.ok, booked.message
    assert booked.result is not None
    return booked.result
