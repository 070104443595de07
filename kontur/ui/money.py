"""Roubles as managers read them: «6 250 000 ₽», «29 977,53 ₽» (narrow no-break spaces, decimal comma),
exact for amounts past 2³² (Decimal, not float)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd

NBSP = "\u202f"


def rub(value: Any, *, kopecks: bool = False, space: str = NBSP) -> str:
    """`space` groups the digits and precedes ₽ (the PDF's font has no narrow no-break space)."""
    if value is None or (not isinstance(value, Decimal) and pd.isna(value)):
        return "—"
    number = Decimal(str(value))
    text = f"{number:,.2f}" if kopecks else f"{round(number):,}"
    return text.replace(",", space).replace(".", ",") + f"{space}₽"


def signed_rub(value: Any) -> str:
    """A change of price: «+250 000 ₽», «−120 000 ₽», «0 ₽»."""
    if value is None or pd.isna(value):
        return "—"
    number = int(value)
    sign = "+" if number > 0 else "−" if number < 0 else ""
    return sign + rub(abs(number))
