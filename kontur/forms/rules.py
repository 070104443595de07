"""Input rules of the action forms, checked locally before anything is sent to Brusnika.

Each rule takes what a person typed and returns the normalised wire value, or raises `InvalidInput`
with a message in Russian saying what to fix. `FieldChecker` gathers the problems of a whole form so
every wrong field is pointed at in one go, not one per submit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import TypeVar

from stdnum.ru import inn as stdnum_inn

# The contact rules are shared with the users directory's import (`kontur.store.user_input`).
from kontur.input_rules import InvalidInput, check_email, normalize_phone

__all__ = [
    "FieldChecker",
    "InvalidInput",
    "check_email",
    "check_hhmm",
    "check_inn",
    "check_not_past",
    "check_required",
    "normalize_phone",
]

T = TypeVar("T")

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def check_inn(raw: str) -> str:
    """A 10-digit (company) or 12-digit (sole trader) INN with valid check digits."""
    inn = re.sub(r"\s", "", raw or "")
    if not inn:
        raise InvalidInput("Укажите ИНН.")
    if not inn.isdigit() or not inn.isascii() or len(inn) not in (10, 12):
        raise InvalidInput("ИНН — 10 цифр для организации или 12 для ИП.")
    # The Federal Tax Service's check digits, as python-stdnum implements them.
    if not stdnum_inn.is_valid(inn):
        raise InvalidInput("В ИНН ошибка: не сходятся контрольные цифры. Проверьте номер.")
    return inn


def check_hhmm(raw: str) -> str:
    """`HH:mm`; a single-digit hour (`9:30`) is accepted and padded."""
    match = _HHMM.match((raw or "").strip())
    if not match:
        raise InvalidInput("Время в формате ЧЧ:ММ, например 14:30.")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def check_required(raw: str, what: str) -> str:
    text = (raw or "").strip()
    if not text:
        raise InvalidInput(f"Укажите {what}.")
    return text


def check_not_past(day: dt.date | None, hhmm: str | None, *, now: dt.datetime) -> dt.date:
    """A booking or visit cannot be placed in the past: the day not before today and, today, the
    time not before now. `now` is passed in (local wall-clock time) so the rule is testable."""
    if day is None:
        raise InvalidInput("Укажите дату.")
    if day < now.date():
        raise InvalidInput("Дата уже прошла — выберите сегодняшнюю или более позднюю.")
    if day == now.date() and hhmm is not None:
        hour, minute = (int(part) for part in hhmm.split(":"))
        if dt.time(hour, minute) < now.time().replace(second=0, microsecond=0):
            raise InvalidInput("Это время сегодня уже прошло — выберите более позднее.")
    return day


class FieldChecker:
    """Runs rules field by field and keeps every problem, keyed by the form's field name."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def check(self, field: str, rule: Callable[..., T], *args: object, **kwargs: object) -> T | None:
        try:
            return rule(*args, **kwargs)
        except InvalidInput as problem:
            self.errors[field] = str(problem)
            return None

    def require(self, field: str, value: T | None, message: str) -> T | None:
        if value is None or value == "":
            self.errors[field] = message
            return None
        return value

    @property
    def ok(self) -> bool:
        return not self.errors
