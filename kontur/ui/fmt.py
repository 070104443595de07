"""Numbers and short descriptions as Russian managers read them. Every function takes what a cache
row may hold (None, NaN, infinity for a price per m² of a zero-size premise) and answers «—» for it."""

from __future__ import annotations

import math
from enum import Enum
from typing import Any

import streamlit as st

from kontur import labels
from kontur.models import PremiseType

from .safe import plain

NBSP = "\u202f"  # narrow no-break space: the Russian thousands separator


def _number(value: Any) -> float | None:
    """The value as a finite float, or None for None, NaN, infinities and anything not a number."""
    if value is None or isinstance(value, str):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _missing(value: Any) -> bool:
    return _number(value) is None


def fmt_int(value: Any) -> str:
    number = _number(value)
    return "—" if number is None else f"{round(number):,}".replace(",", NBSP)


def fmt_rub(value: float | int | None) -> str:
    return "—" if _missing(value) else f"{fmt_int(value)}{NBSP}₽"


def fmt_mln(value: float | int | None) -> str:
    """6 250 000 → «6,3 млн ₽»."""
    if _missing(value):
        return "—"
    return f"{float(value) / 1e6:.1f}".replace(".", ",") + f"{NBSP}млн{NBSP}₽"


def fmt_num(value: float | None, digits: int = 1) -> str:
    """12345.67 → «12 345,7»: Russian grouping and decimal comma."""
    if _missing(value):
        return "—"
    return f"{float(value):,.{digits}f}".replace(",", NBSP).replace(".", ",")


def fmt_pct(share: float | None) -> str:
    if _missing(share):
        return "—"
    return f"{float(share) * 100:.1f}".replace(".", ",") + f"{NBSP}%"


def fmt_area(value: float | None) -> str:
    return "—" if _missing(value) else f"{float(value):.1f}".replace(".", ",") + f"{NBSP}м²"


def fmt_whole(value: Any) -> str:
    """A whole number as plain digits (a floor, negative for underground parking; a section number),
    «—» when unknown."""
    return "—" if _missing(value) else str(int(value))


def fmt_age(seconds: float | None) -> str:
    """A duration in words a manager reads at a glance: «40 с», «12 мин», «3 ч», «2 дн»."""
    if _missing(seconds):  # never synced
        return "—"
    seconds = max(0.0, float(seconds))
    for limit, unit, size in ((60, "с", 1), (3600, "мин", 60), (86400, "ч", 3600)):
        if seconds < limit:
            return f"{int(seconds // size)}{NBSP}{unit}"
    return f"{int(seconds // 86400)}{NBSP}дн"


def number_text(**kwargs: Any) -> Any:
    """A column of numbers pre-formatted as Russian text (fmt_rub, fmt_pct, ...), right-aligned like
    numbers: the browser's own number formats are English whatever the manager's language."""
    return st.column_config.TextColumn(alignment="right", **kwargs)


def rooms_text(premise_type: Any, rooms: Any) -> str:
    """«Студия», «2-комн.» for an apartment; the type's name for anything else; «—» when unknown."""
    if premise_type != PremiseType.APARTMENT.value:
        return labels.label_of(PremiseType, plain(premise_type))
    return "—" if _missing(rooms) else labels.rooms_label(int(rooms))


def premise_caption(row: Any) -> str:
    """One line about a premise, as in the booking picker: «№ 124 · 2-комн. · 5 эт. · 54,3 м² · 6,3 млн ₽».
    Plain text: the number is partner data, so callers put it into markdown only through `safe.md`."""
    return (
        f"№ {plain(row.number, limit=40)} · {rooms_text(row.type, row.rooms)} · {fmt_whole(row.floor)} эт. · "
        f"{fmt_area(row.size)} · {fmt_mln(row.price)}"
    )


# Streamlit's own colour directive for a premise status dot (no HTML needed).
STATUS_DOT: dict[str, str] = {"free": ":green[●]", "booked": ":orange[●]", "sold": ":gray[●]"}


def list_labels(enum: type[Enum], values: Any) -> str:
    """«Балкон, Лоджия» for a list of wire values; an empty or missing list (None, NaN) is «»."""
    if values is None or isinstance(values, (str, float)):
        return ""
    return ", ".join(labels.label_of(enum, plain(v)) for v in values)
