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

T = TypeVar("T")

# Separators people type inside phone numbers; anything else non-digit is a typo worth reporting.
_PHONE_SEPARATORS = re.compile(r"[\s\-()\.]")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$")
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class InvalidInput(ValueError):
    """What a person typed breaks a rule; the message says how to fix it."""


def normalize_phone(raw: str) -> str:
    """`+7XXXXXXXXXX` from 8…, 7…, +7… or a bare ten-digit number, with spaces, dashes, dots and
    brackets allowed anywhere."""
    text = _PHONE_SEPARATORS.sub("", raw or "")
    if not text:
        raise InvalidInput("Укажите номер телефона.")
    plus = text.startswith("+")
    digits = text[1:] if plus else text
    if not digits.isdigit() or not digits.isascii():
        raise InvalidInput("Телефон может содержать только цифры, пробелы, дефисы, скобки и «+».")
    if plus:
        if len(digits) == 11 and digits[0] == "7":
            return "+" + digits
    elif len(digits) == 11 and digits[0] in "78":
        return "+7" + digits[1:]
    elif len(digits) == 10:
        return "+7" + digits
    raise InvalidInput("Нужен российский номер: +7 и десять цифр, например +7 912 345-67-89.")


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


def check_email(raw: str) -> str:
    email = (raw or "").strip()
    if not email:
        raise InvalidInput("Укажите адрес электронной почты.")
    if not _EMAIL.match(email):
        raise InvalidInput("Адрес почты должен выглядеть как name@example.ru.")
    return email


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
