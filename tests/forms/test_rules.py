"""Input rules with known valid and invalid examples."""

from __future__ import annotations

import datetime as dt

import pytest

from kontur.forms.rules import (
    FieldChecker,
    InvalidInput,
    check_email,
    check_hhmm,
    check_inn,
    check_not_past,
    normalize_phone,
)
from kontur.store import audit


@pytest.mark.parametrize(
    ("typed", "wire"),
    [
        ("+7 (912) 345-67-89", "+79123456789"),
        ("8 912 345 67 89", "+79123456789"),
        ("89123456789", "+79123456789"),
        ("79123456789", "+79123456789"),
        ("9123456789", "+79123456789"),
        ("(912)345-67-89", "+79123456789"),
        ("  +79123456789  ", "+79123456789"),
        ("8-800-555-35-35", "+78005553535"),
    ],
)
def test_phone_normalised(typed: str, wire: str) -> None:
    assert normalize_phone(typed) == wire


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "12345",
        "+8 912 345 67 89",
        "69123456789",
        "912345678",
        "+7912345678901",
        "+7 912 ABC 67 89",
        "8912345678٩",
    ],
)
def test_phone_rejected(typed: str) -> None:
    with pytest.raises(InvalidInput):
        normalize_phone(typed)


@pytest.mark.parametrize(
    "inn",
    [
        "7707083893",  # Sberbank
        "7736207543",  # Yandex
        "7702070139",  # VTB
        "500100732259",  # a sole trader's INN often used as the textbook example
    ],
)
def test_inn_valid(inn: str) -> None:
    assert check_inn(inn) == inn
    assert check_inn(f" {inn[:4]} {inn[4:]} ") == inn


@pytest.mark.parametrize(
    "inn",
    [
        "7707083894",  # last check digit off by one
        "7736207533",
        "500100732258",  # 12th digit wrong
        "500100732249",  # 11th digit wrong
        "770708389",  # 9 digits
        "77070838931",  # 11 digits
        "77070838A3",
        "",
    ],
)
def test_inn_invalid(inn: str) -> None:
    with pytest.raises(InvalidInput):
        check_inn(inn)


def test_email_rules() -> None:
    assert check_email(" agent@agency.ru ") == "agent@agency.ru"
    for bad in ("", "agent", "agent@", "@agency.ru", "agent@agency", "a b@agency.ru"):
        with pytest.raises(InvalidInput):
            check_email(bad)


def test_hhmm_rules() -> None:
    assert check_hhmm("09:30") == "09:30"
    assert check_hhmm("9:30") == "09:30"
    assert check_hhmm("23:59") == "23:59"
    for bad in ("24:00", "12:60", "1230", "12-30", "", "noon"):
        with pytest.raises(InvalidInput):
            check_hhmm(bad)


def test_dates_not_in_the_past() -> None:
    now = dt.datetime(2026, 11, 26, 15, 0)
    assert check_not_past(dt.date(2026, 11, 27), "09:00", now=now) == dt.date(2026, 11, 27)
    assert check_not_past(dt.date(2026, 11, 26), "15:00", now=now) == dt.date(2026, 11, 26)
    with pytest.raises(InvalidInput, match="прошла"):
        check_not_past(dt.date(2026, 11, 25), "18:00", now=now)
    with pytest.raises(InvalidInput, match="прошло"):
        check_not_past(dt.date(2026, 11, 26), "14:59", now=now)
    with pytest.raises(InvalidInput):
        check_not_past(None, "10:00", now=now)


def test_field_checker_collects_every_problem() -> None:
    checker = FieldChecker()
    assert checker.check("phone", normalize_phone, "8 (912) 345-67-89") == "+79123456789"
    assert checker.check("inn", check_inn, "7707083894") is None
    assert checker.check("email", check_email, "nope") is None
    assert set(checker.errors) == {"inn", "email"}
    assert not checker.ok


def test_scrub_removes_secret_looking_keys() -> None:
    cleaned = audit.scrub(
        {"token": "t", "nested": {"Authorization": "Bearer x", "inn": "1"}, "l": [{"password": 1}]}
    )
    assert cleaned == {
        "token": "***",
        "nested": {"Authorization": "***", "inn": "1"},
        "l": [{"password": "***"}],
    }
