"""Mortgage estimate for a premise: down payment, annual rate and term → the monthly annuity payment
and the overpayment.

Russian banks quote the annuity: a fixed monthly payment P = L·r / (1 − (1 + r)^−n) on a loan L at a
monthly rate r = annual / 12 over n months (L / n at a zero rate). Amounts are computed in Decimal and
rounded to kopecks at the end, so the figures do not drift with float rounding on large prices.
An estimate, not an offer: the bank's own schedule may differ by rounding each month.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

from kontur.config import DEFAULT_MORTGAGE_PRESETS, MortgagePreset
from kontur.models.enums import PurchaseOption

KOPECK = Decimal("0.01")
MAX_TERM_YEARS = 50

__all__ = [
    "DEFAULT_MORTGAGE_PRESETS",
    "Estimate",
    "MortgageInputError",
    "MortgagePreset",
    "allows_mortgage",
    "estimate",
    "monthly_payment",
]


class MortgageInputError(ValueError):
    """An input the estimate cannot use; the message is Russian and says what to change."""


@dataclass(frozen=True)
class Estimate:
    price: Decimal
    down_payment: Decimal
    loan: Decimal
    rate: Decimal  # annual, per cent
    term_years: int
    monthly_payment: Decimal  # kopecks
    total_paid: Decimal  # all monthly payments
    overpayment: Decimal  # interest: total_paid − loan

    @property
    def months(self) -> int:
        return self.term_years * 12


def allows_mortgage(purchase_options: Iterable[str] | None) -> bool:
    """Whether a premise's `purchase_option` list offers a mortgage (the wire spells it `mortage`)."""
    return purchase_options is not None and PurchaseOption.MORTGAGE.value in {
        str(o) for o in purchase_options
    }


def monthly_payment(
    loan: Decimal | int | float, annual_rate_pct: Decimal | int | float, months: int
) -> Decimal:
    """The annuity payment, exact to Decimal precision (not rounded)."""
    principal = Decimal(str(loan))
    if months <= 0:
        raise MortgageInputError("Срок кредита должен быть больше нуля.")
    if principal <= 0:
        return Decimal(0)
    with localcontext() as ctx:
        ctx.prec = 34
        r = Decimal(str(annual_rate_pct)) / Decimal(1200)
        if r == 0:
            return principal / months
        return principal * r / (1 - (1 + r) ** -months)


def estimate(
    price: Decimal | int | float,
    *,
    down_payment: Decimal | int | float,
    rate: Decimal | int | float,
    term_years: int,
) -> Estimate:
    """The estimate for a premise at `price` (roubles). Refuses what a bank would: a down payment
    outside [0, price), a negative rate or one of 100% and more, a term outside 1–50 years."""
    price_d = Decimal(str(price))
    down = Decimal(str(down_payment))
    rate_d = Decimal(str(rate))
    if price_d <= 0:
        raise MortgageInputError("Цена помещения неизвестна: расчёт ипотеки невозможен.")
    if down < 0:
        raise MortgageInputError("Первоначальный взнос не может быть отрицательным.")
    if down >= price_d:
        raise MortgageInputError("Первоначальный взнос покрывает всю цену: кредит не нужен.")
    if not Decimal(0) <= rate_d < Decimal(100):
        raise MortgageInputError("Ставка должна быть от 0 до 100 % годовых.")
    if not 1 <= int(term_years) <= MAX_TERM_YEARS:
        raise MortgageInputError(f"Срок кредита — от 1 до {MAX_TERM_YEARS} лет.")
    months = int(term_years) * 12
    loan = price_d - down
    payment = monthly_payment(loan, rate_d, months).quantize(KOPECK, rounding=ROUND_HALF_UP)
    total = payment * months
    return Estimate(
        price=price_d,
        down_payment=down,
        loan=loan,
        rate=rate_d,
        term_years=int(term_years),
        monthly_payment=payment,
        total_paid=total,
        overpayment=total - loan,
    )


def from_preset(price: Decimal | int | float, preset: MortgagePreset) -> Estimate:
    """The estimate with a preset's terms; its down payment is its share of the price, in whole roubles."""
    down = (Decimal(str(price)) * Decimal(str(preset.down_payment_share))).quantize(Decimal(1), ROUND_HALF_UP)
    return estimate(price, down_payment=down, rate=preset.rate, term_years=preset.term_years)
