"""The deals page's head and funnel: the KPIs with the one definition of "won" (the stage `выиграна`,
its leads' state beside), the funnel by reach (`kontur.queries.funnel`: a cancelled or fallen booking
reached «бронь»), the rule stated under it, and the outcomes beside it."""

from __future__ import annotations

import streamlit as st

from kontur import labels
from kontur.models import LeadStage, LeadState
from kontur.queries import funnel as funnel_q

from . import charts, tables
from .fmt import fmt_int, fmt_pct

BOOKING = LeadStage.BOOKING.value


def won_text(won: funnel_q.Won) -> str:
    """The won leads' states («Выиграна — 120, Активные — 3») and the leads whose state alone says won."""
    by_size = sorted(won.by_state.items(), key=lambda item: -item[1])
    parts = [f"{labels.label_of(LeadState, s)} — {fmt_int(n)}" for s, n in by_size]
    text = f"Выигранные — этап «Выиграна»; их статус: {', '.join(parts)}." if parts else ""
    if won.state_only:
        text += (
            f" Ещё {fmt_int(won.state_only)} со статусом «Выиграна» стоят на другом этапе: выигранными не "
            "считаются — сверьте их с Брусникой."
        )
    return text.strip()


def kpis(result: funnel_q.FunnelReach, won: funnel_q.Won) -> None:
    """Deals, reached booking, won (one definition), conversion to won."""
    booked = int(result.funnel.loc[result.funnel["stage"] == BOOKING, "reached"].iloc[0])
    k = st.columns(4)
    k[0].metric("Сделок", fmt_int(result.total), border=True)
    k[1].metric("Дошли до брони", fmt_int(booked), border=True)
    k[2].metric("Выиграно", fmt_int(result.won), border=True)
    k[3].metric(
        "Конверсия в выигрыш", fmt_pct(result.won / result.total) if result.total else "—", border=True
    )
    text = won_text(won)
    if text:
        st.caption(text)


def funnel_section(result: funnel_q.FunnelReach) -> None:
    """The funnel chart and table by reach with the rule under them; outcomes beside."""
    left, right = st.columns([3, 1])
    with left:
        st.subheader("Воронка")
        st.plotly_chart(charts.funnel(result.funnel), width="stretch", key="ld_funnel")
        st.dataframe(
            tables.funnel(result.funnel),
            hide_index=True,
            column_config=tables.FUNNEL_CONFIG,
            key="ld_funnel_table",
        )
        st.caption(funnel_q.RULE_TEXT)
    with right:
        st.subheader("Вне воронки")
        for row in result.outcomes.itertuples():
            st.metric(
                labels.label_of(LeadStage, row.stage),
                fmt_int(row.n),
                delta=fmt_pct(row.n / result.total) if result.total else None,
                delta_color="off",
                delta_arrow="off",
                border=True,
            )
