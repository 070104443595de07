"""The funnel by reach, for the deals page: each stage's reach (cancelled and fallen bookings count up
to «бронь»), conversion from the previous stage, the rule under the chart, and "won" with the leads'
state beside it — in the reader's `view_leads` scope."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from kontur import labels, ui
from kontur.auth.scopes import ReadScope
from kontur.models import LeadStage, LeadState
from kontur.queries import funnel
from kontur.queries.filters import LeadFilters


def reach_figure(result: funnel.FunnelReach) -> go.Figure:
    names = [labels.label_of(LeadStage, s) for s in result.funnel["stage"]]
    text = [
        f"{ui.fmt_int(r)}" + ("" if c is None or c != c else f" · {ui.fmt_pct(c)}")
        for r, c in zip(result.funnel["reached"], result.funnel["conversion"], strict=True)
    ]
    fig = go.Figure(go.Funnel(y=names, x=result.funnel["reached"], text=text, textinfo="text"))
    fig.update_layout(margin={"l": 0, "r": 0, "t": 10, "b": 0}, height=380)
    return fig


def funnel_reach(filters: LeadFilters, scope: ReadScope, *, key: str = "funnel_reach") -> funnel.FunnelReach:
    """Draw the funnel by reach with its rule and the won summary; returns the numbers drawn."""
    result = ui.read(funnel.funnel_reach, filters, scope)
    won = ui.read(funnel.won, filters, scope)
    st.plotly_chart(reach_figure(result), key=key)
    st.caption(funnel.RULE_TEXT)
    beside = ", ".join(
        f"{labels.label_of(LeadState, s)}: {ui.fmt_int(n)}" for s, n in sorted(won.by_state.items())
    )
    st.metric("Выиграно сделок (этап «Выиграна»)", ui.fmt_int(won.won))
    if beside:
        st.caption(f"Статус выигранных сделок — {beside}.")
    if won.state_only:
        st.caption(
            f"Ещё {ui.fmt_int(won.state_only)} сделок со статусом «Выиграна» стоят на другом этапе: "
            "выигранными они не считаются, проверьте их с Брусникой."
        )
    return result
