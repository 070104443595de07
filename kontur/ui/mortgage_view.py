"""The mortgage estimate on a premise's card: a programme (presets from settings), then down payment,
rate and term, each editable → the monthly payment and the overpayment. Shown only where the premise's
`purchase_option` includes a mortgage."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import streamlit as st

from kontur import ui
from kontur.config import MortgagePreset
from kontur.mortgage import Estimate, MortgageInputError, allows_mortgage, estimate
from kontur.ui.money import rub


def _apply_preset(key: str, price: int, presets: dict[str, MortgagePreset]) -> None:
    preset = presets[st.session_state[f"{key}_preset"]]
    st.session_state[f"{key}_down"] = round(price * preset.down_payment_share)
    st.session_state[f"{key}_rate"] = float(preset.rate)
    st.session_state[f"{key}_term"] = int(preset.term_years)


def mortgage_estimate(price: Any, purchase_options: Iterable[str] | None, *, key: str) -> Estimate | None:
    """Draw the estimate for one premise; `key` keeps its widgets apart from other cards'."""
    options = list(
        purchase_options.tolist() if hasattr(purchase_options, "tolist") else purchase_options or []
    )
    if not allows_mortgage(options):
        st.caption("Ипотека для этого помещения не предлагается.")
        return None
    if price is None or int(price) <= 0:
        st.caption("Цена неизвестна: рассчитать ипотеку нельзя.")
        return None
    price = int(price)
    presets = {p.name: p for p in ui.settings().mortgage_presets}
    if f"{key}_preset" not in st.session_state or st.session_state[f"{key}_preset"] not in presets:
        st.session_state[f"{key}_preset"] = next(iter(presets))
        _apply_preset(key, price, presets)
    st.selectbox(
        "Программа", list(presets), key=f"{key}_preset", on_change=_apply_preset, args=(key, price, presets)
    )
    left, middle, right = st.columns(3)
    down = left.number_input("Первоначальный взнос, ₽", min_value=0, step=50_000, key=f"{key}_down")
    rate = middle.number_input(
        "Ставка, % годовых", min_value=0.0, max_value=99.9, step=0.1, key=f"{key}_rate"
    )
    term = right.number_input("Срок, лет", min_value=1, max_value=50, step=1, key=f"{key}_term")
    try:
        result = estimate(price, down_payment=int(down), rate=float(rate), term_years=int(term))
    except MortgageInputError as exc:
        st.error(str(exc), icon=":material/edit:")
        return None
    a, b, c = st.columns(3)
    a.metric("Платёж в месяц", rub(result.monthly_payment, kopecks=True))
    b.metric("Сумма кредита", rub(result.loan))
    c.metric("Переплата", rub(result.overpayment))
    st.caption("Оценка по аннуитетной формуле; график банка может отличаться на копейки округления.")
    return result
