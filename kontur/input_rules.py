"""The rules of the contact fields people type (phone, e-mail), written once for everyone who takes
them: the form pages (`kontur.forms.rules`) and the users directory's command line and CSV import
(`kontur.store.user_input`). A leaf module: it imports nothing of Kontur, so both layers can use it.

Each rule returns the normalised wire value or raises `InvalidInput` with a message in Russian saying
what to fix; callers that speak to an operator in English wrap the message, never the rule.
"""

from __future__ import annotations

import re

# Separators people type inside phone numbers; anything else non-digit is a typo worth reporting.
PHONE_SEPARATORS = re.compile(r"[\s\-()\.]")
EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$")


class InvalidInput(ValueError):
    """What a person typed breaks a rule; the message says how to fix it."""


def normalize_phone(raw: str) -> str:
    """`+7XXXXXXXXXX` from 8…, 7…, +7… or a bare ten-digit number, with spaces, dashes, dots and
    brackets allowed anywhere."""
    text = PHONE_SEPARATORS.sub("", raw or "")
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


def check_email(raw: str) -> str:
    email = (raw or "").strip()
    if not email:
        raise InvalidInput("Укажите адрес электронной почты.")
    if not EMAIL.match(email):
        raise InvalidInput("Адрес почты должен выглядеть как name@example.ru.")
    return email
