"""The annuity formula against published values and an independent amortisation, and the refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kontur import mortgage
from kontur.config import MortgagePreset, Settings, SettingsError


@pytest.mark.parametrize(
    ("loan", "rate", "years", "published"),
    [
        # the textbook examples every amortisation table starts from
        (100_000, 6, 30, Decimal("599.55")),
        (200_000, Decimal("6.5"), 30, Decimal("1264.14")),
        (100_000, 5, 15, Decimal("790.79")),
    ],
)
def test_payment_matches_published_amortisation_tables(
    loan: int, rate: Decimal, years: int, published: Decimal
) -> None:
    result = mortgage.estimate(loan + 10, down_payment=10, rate=rate, term_years=years)
    assert result.loan == loan
    assert result.monthly_payment == published


def _amortise(loan: float, annual: float, months: int, payment: float) -> float:
    """What is left after paying `payment` every month: interest accrues monthly on the balance."""
    balance = loan
    for _ in range(months):
        balance = balance * (1 + annual / 1200) - payment
    return balance


def _solve_payment(loan: float, annual: float, months: int) -> float:
    """The payment that clears the loan, found by bisection on the amortisation (no closed form)."""
    low, high = 0.0, loan
    for _ in range(200):
        mid = (low + high) / 2
        if _amortise(loan, annual, months, mid) > 0:
            low = mid
        else:
            high = mid
    return (low + high) / 2


@pytest.mark.parametrize(
    ("price", "down", "rate", "years"),
    [
        (6_250_000, 1_250_000, 6, 30),  # a family mortgage on a typical two-room flat
        (12_800_000, 2_560_000, Decimal("20.5"), 20),
        (5_000_000_000, 1_000_000_000, Decimal("11.9"), 25),  # a price over 2^32
        (900_000, 0, Decimal("0.1"), 1),
    ],
)
def test_payment_clears_the_loan_exactly_as_an_independent_amortisation_does(
    price: int, down: int, rate: Decimal, years: int
) -> None:
    result = mortgage.estimate(price, down_payment=down, rate=rate, term_years=years)
    months = years * 12
    expected = _solve_payment(price - down, float(rate), months)
    assert float(result.monthly_payment) == pytest.approx(expected, abs=0.01)
    # what is left after the last payment is the half-kopeck rounding of each payment, grown by interest
    monthly = float(rate) / 1200
    rounding = sum(0.005 * (1 + monthly) ** k for k in range(months))
    left = _amortise(price - down, float(rate), months, float(result.monthly_payment))
    assert abs(left) <= rounding + 1e-6 * (price - down)
    assert result.total_paid == result.monthly_payment * months
    assert result.overpayment == result.total_paid - (price - down)
    assert result.overpayment > 0


def test_zero_rate_splits_the_loan_evenly() -> None:
    result = mortgage.estimate(1_200_000, down_payment=0, rate=0, term_years=10)
    assert result.monthly_payment == Decimal("10000.00")
    assert result.overpayment == 0


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"price": 0, "down_payment": 0, "rate": 6, "term_years": 10}, "Цена"),
        ({"price": 100, "down_payment": -1, "rate": 6, "term_years": 10}, "отрицательным"),
        ({"price": 100, "down_payment": 100, "rate": 6, "term_years": 10}, "всю цену"),
        ({"price": 100, "down_payment": 10, "rate": 100, "term_years": 10}, "Ставка"),
        ({"price": 100, "down_payment": 10, "rate": -0.5, "term_years": 10}, "Ставка"),
        ({"price": 100, "down_payment": 10, "rate": 6, "term_years": 0}, "Срок"),
        ({"price": 100, "down_payment": 10, "rate": 6, "term_years": 51}, "Срок"),
    ],
)
def test_inputs_a_bank_would_refuse_are_refused_with_the_reason(kwargs: dict, says: str) -> None:
    price = kwargs.pop("price")
    with pytest.raises(mortgage.MortgageInputError, match=says):
        mortgage.estimate(price, **kwargs)


def test_preset_takes_its_share_of_the_price_as_the_down_payment() -> None:
    preset = MortgagePreset(name="Семейная", rate=6, down_payment_share=0.2, term_years=30)
    result = mortgage.from_preset(6_250_001, preset)
    assert result.down_payment == 1_250_000  # 20 % rounded to whole roubles
    assert (
        result.monthly_payment
        == mortgage.estimate(6_250_001, down_payment=1_250_000, rate=6, term_years=30).monthly_payment
    )


def test_mortgage_is_offered_only_where_the_premise_allows_it() -> None:
    assert mortgage.allows_mortgage(["installment", "mortage"])
    assert not mortgage.allows_mortgage(["full_payment", "bill"])
    assert not mortgage.allows_mortgage([])
    assert not mortgage.allows_mortgage(None)


def test_presets_come_from_settings_and_bad_ones_are_named() -> None:
    assert Settings.from_env({}).mortgage_presets == mortgage.DEFAULT_MORTGAGE_PRESETS
    one = '[{"name": "IT", "rate": 6, "down_payment_share": 0.2, "term_years": 30}]'
    custom = Settings.from_env({"KONTUR_MORTGAGE_PRESETS": one})
    assert [p.name for p in custom.mortgage_presets] == ["IT"]
    from_secrets = Settings.from_env(
        {},
        {
            "mortgage": {
                "presets": [{"name": "Льготная", "rate": 8, "down_payment_share": 0.3, "term_years": 25}]
            }
        },
    )
    assert from_secrets.mortgage_presets[0].down_payment_share == 0.3
    with pytest.raises(SettingsError, match=r"KONTUR_MORTGAGE_PRESETS\[0\]\.rate"):
        Settings.from_env({"KONTUR_MORTGAGE_PRESETS": one.replace('"rate": 6', '"rate": 120')})
    with pytest.raises(SettingsError, match=r"KONTUR_MORTGAGE_PRESETS: .*JSON"):
        Settings.from_env({"KONTUR_MORTGAGE_PRESETS": "семейная"})
    with pytest.raises(SettingsError, match="KONTUR_MAP_STYLE"):
        Settings.from_env({"KONTUR_MAP_STYLE": "google"})
    with pytest.raises(SettingsError, match="KONTUR_MAP_TILES_URL"):
        Settings.from_env({"KONTUR_MAP_TILES_URL": "http://tiles.internal/{z}/{x}/{y}.png"})
