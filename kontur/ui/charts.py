"""The dashboard's plotly figures. Pages lay them out; the data comes from `kontur.queries`.

Plotly interprets a few HTML tags in `text`, hover templates and the values they pull in (`<a href>`,
`<br>`, `<b>`, `<span style>`...), so every value from a record goes in through `plotly_text`.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from kontur import labels
from kontur.models import LeadStage
from kontur.queries import PremiseFilters, availability

from .fmt import fmt_pct
from .reads import read
from .safe import plain

STATUS_COLORS: dict[str, str] = {"free": "#2e9e5b", "booked": "#f0a030", "sold": "#b8bec6"}
FUNNEL_COLORS = ("#1f4fd1", "#2b5fe0", "#3a6fe8", "#4c80ee", "#5f90f2", "#74a1f5", "#8ab1f7", "#2e9e5b")

# Longest record text put on a chart (a city label on the map).
TEXT_LIMIT = 60


def plotly_text(value: Any, *, limit: int = TEXT_LIMIT) -> str:
    """A record's text as plotly shows it and never acts on: tags escaped (plotly turns the entities
    back into the characters), controls and bidi overrides dropped, cut to `limit`."""
    return html.escape(plain(value, limit=limit), quote=False)


# metric -> (title, axis unit, divisor): prices in millions, prices per m² in thousands of roubles
HISTOGRAMS: dict[str, tuple[str, str, float]] = {
    "price": ("Распределение цены", "млн ₽", 1e6),
    "price_per_m2": ("Цена за м²", "тыс. ₽ за м²", 1e3),
}


def distribution_of(f: PremiseFilters, metric: str) -> go.Figure:
    """`distribution` of `availability.distribution(f, metric)`: through `ui.view`, built once per
    data version (a figure takes longer to build than its query)."""
    return distribution(read(availability.distribution, f, metric), metric)


def distribution(hist: pd.DataFrame, metric: str) -> go.Figure:
    """Stacked bars by status of `queries.availability.distribution(..., metric)`."""
    title, unit, div = HISTOGRAMS[metric]
    fig = go.Figure()
    for status in ("free", "booked", "sold"):
        part = hist[hist["status"] == status]
        lo, hi = part["bin_start"] / div, part["bin_end"] / div
        fig.add_bar(
            x=(lo + hi) / 2,
            y=part["n"],
            width=hi - lo,
            name=labels.PREMISE_STATUS[status],
            marker_color=STATUS_COLORS[status],
            customdata=pd.concat([lo, hi], axis=1),
            hovertemplate=f"%{{customdata[0]:,.1f}} – %{{customdata[1]:,.1f}} {unit}: "
            "%{y:,}<extra></extra>",
        )
    fig.update_layout(
        title=title,
        barmode="stack",
        height=320,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis_title=unit,
        yaxis_title="Помещений",
        separators=", ",
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def funnel(stages: pd.DataFrame) -> go.Figure:
    """`queries.leads.Funnel.funnel`: reached per stage, with the count now at the stage and the
    conversion from the previous one on hover. Stage names are our labels, never record text."""
    names = [labels.label_of(LeadStage, s) for s in stages["stage"]]
    conversion = ["" if c is None or c != c else f"{fmt_pct(c)} от пред." for c in stages["conversion"]]
    fig = go.Figure(
        go.Funnel(
            y=names,
            x=stages["reached"],
            # thousands grouped by the figure's separators: «7 456», then the share of the first stage
            texttemplate="%{value:,}<br>%{percentInitial:.0%}",
            customdata=list(zip(stages["at_stage"], conversion, strict=True)),
            hovertemplate="<b>%{y}</b><br>Дошли: %{x:,}<br>Сейчас на этапе: %{customdata[0]:,}<br>"
            "%{customdata[1]}<extra></extra>",
            marker={"color": list(FUNNEL_COLORS[: len(names)])},
        )
    )
    fig.update_layout(height=420, margin={"l": 10, "r": 10, "t": 10, "b": 10}, separators=", ")
    return fig


def weekly_starts(weekly: pd.DataFrame) -> go.Figure:
    fig = go.Figure(
        go.Bar(
            x=weekly["week"],
            y=weekly["n"],
            marker_color="#3a6fe8",
            hovertemplate="Неделя с %{x|%d.%m.%Y}: %{y}<extra></extra>",
        )
    )
    fig.update_layout(
        height=280,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        yaxis_title="Сделок",
        xaxis_tickformat="%m.%Y",
    )
    return fig
