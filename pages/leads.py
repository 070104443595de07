"""Сделки: the funnel with conversions, outcomes beside it, weekly starts, stale leads, agents."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st

from kontur import labels, ui
from kontur.models import FUNNEL_STAGES, LeadStage, LeadState
from kontur.queries import LeadFilters, leads

st.title("Сделки")
ui.stop_if_cache_empty()
scope = ui.current_scope()
if scope.building_id is not None:
    st.caption("Фильтр по зданию к сделкам не применяется: сделка относится к проекту.")

ui.ensure_people_names()
base = LeadFilters(city_id=scope.city_id, project_id=scope.project_id)
dates = ui.read(leads.start_bounds)


def person_filter(
    search_col: Any, pick_col: Any, role: str, label: str, everyone: str, key: str
) -> list[int]:
    """A searchable choice of agents/managers: at scale 10 there are 30,000 agents, so the list
    offers the busiest ones and whoever matches the search box, never all of them at once."""
    chosen = tuple(int(v) for v in st.session_state.get(key, ()))
    search = search_col.text_input(
        f"Найти: {label.lower()}",
        key=f"{key}_search",
        placeholder="фамилия, имя или №",
        help=f"Список справа — до {leads.PEOPLE_SHOWN} человек с наибольшим числом сделок; "
        "остальных найдёт поиск.",
    )
    people = ui.read(leads.people_options, role, base, search, chosen)
    names = dict(zip(people["id"].astype(int), people["name"], strict=True))
    counts = dict(zip(people["id"].astype(int), people["leads"], strict=True))
    return pick_col.multiselect(
        label,
        list(names),
        format_func=lambda v: f"{names.get(v, v)} ({ui.fmt_int(counts.get(v))})",
        placeholder=everyone,
        key=key,
        help="В скобках — число сделок.",
    )


with st.expander("Фильтры", expanded=True, icon=":material/tune:"):
    c1, c2, c3, c4 = st.columns([2, 3, 2, 3])
    agent_ids = person_filter(c1, c2, "agent_id", "Агент", "Все агенты", "ld_agents")
    manager_ids = person_filter(c3, c4, "manager_id", "Менеджер", "Все менеджеры", "ld_managers")
    r1, r2, _ = st.columns([3, 3, 4])
    states = r1.multiselect(
        "Состояние",
        [s.value for s in LeadState],
        format_func=lambda v: labels.label_of(LeadState, v),
        placeholder="Все",
        key="ld_states",
    )
    period = r2.date_input(
        "Дата начала сделки",
        value=dates or (),
        min_value=dates[0] if dates else None,
        max_value=dates[1] if dates else None,
        format="DD.MM.YYYY",
        key="ld_period",
    )

start_from = start_to = None
if isinstance(period, tuple) and len(period) == 2 and dates and tuple(period) != tuple(dates):
    start_from, start_to = period
f = LeadFilters(
    city_id=scope.city_id,
    project_id=scope.project_id,
    agent_ids=tuple(int(a) for a in agent_ids),
    manager_ids=tuple(int(m) for m in manager_ids),
    states=tuple(states),
    start_from=start_from,
    start_to=start_to,
)
funnel = ui.read(leads.funnel, f)
if funnel.total == 0:
    ui.no_results("сделок")
    st.stop()

fd = funnel.funnel
won = int(fd["at_stage"].iloc[-1])
k = st.columns(4)
k[0].metric("Сделок", ui.fmt_int(funnel.total), border=True)
k[1].metric("В воронке", ui.fmt_int(int(fd["reached"].iloc[0])), border=True)
k[2].metric("Выиграно", ui.fmt_int(won), border=True)
k[3].metric(
    "Конверсия в выигрыш",
    ui.fmt_pct(won / fd["reached"].iloc[0]) if fd["reached"].iloc[0] else "—",
    border=True,
)

left, right = st.columns([3, 1])
with left:
    st.subheader("Воронка")
    stage_names = [labels.LEAD_STAGE[s] for s in FUNNEL_STAGES]
    conv_text = ["" if c is None or c != c else f"{ui.fmt_pct(c)} от пред." for c in fd["conversion"]]
    fig = go.Figure(
        go.Funnel(
            y=stage_names,
            x=fd["reached"],
            # thousands grouped by the figure's separators: «7 456», then the share of the first stage
            texttemplate="%{value:,}<br>%{percentInitial:.0%}",
            customdata=list(zip(fd["at_stage"], conv_text, strict=True)),
            hovertemplate="<b>%{y}</b><br>Дошли: %{x:,}<br>Сейчас на этапе: %{customdata[0]:,}<br>"
            "%{customdata[1]}<extra></extra>",
            marker={
                "color": [
                    "#1f4fd1",
                    "#2b5fe0",
                    "#3a6fe8",
                    "#4c80ee",
                    "#5f90f2",
                    "#74a1f5",
                    "#8ab1f7",
                    "#2e9e5b",
                ]
            },
        )
    )
    fig.update_layout(height=420, margin={"l": 10, "r": 10, "t": 10, "b": 10}, separators=", ")
    st.plotly_chart(fig, width="stretch", key="ld_funnel")
    st.dataframe(
        {
            "Этап": stage_names,
            "Сейчас на этапе": fd["at_stage"],
            "Дошли до этапа": fd["reached"],
            # Russian percent text («83,9 %»); the first stage has no previous one: «—»
            "Конверсия из предыдущего": [ui.fmt_pct(None if c != c else c) for c in fd["conversion"]],
        },
        hide_index=True,
        column_config={
            "Сейчас на этапе": st.column_config.NumberColumn(format="localized"),
            "Дошли до этапа": st.column_config.NumberColumn(format="localized"),
            "Конверсия из предыдущего": ui.number_text(),
        },
        key="ld_funnel_table",
    )
    st.caption("«Дошли до этапа» — сделки, которые сейчас на этом этапе или дальше по воронке.")
with right:
    st.subheader("Вне воронки")
    for row in funnel.outcomes.itertuples():
        share = row.n / funnel.total
        st.metric(
            labels.label_of(LeadStage, row.stage),
            ui.fmt_int(row.n),
            delta=ui.fmt_pct(share),
            delta_color="off",
            delta_arrow="off",
            border=True,
        )

st.subheader("Новые сделки по неделям")
weekly = ui.read(leads.weekly_starts, f)
wfig = go.Figure(
    go.Bar(
        x=weekly["week"],
        y=weekly["n"],
        marker_color="#3a6fe8",
        hovertemplate="Неделя с %{x|%d.%m.%Y}: %{y}<extra></extra>",
    )
)
wfig.update_layout(
    height=280, margin={"l": 10, "r": 10, "t": 10, "b": 10}, yaxis_title="Сделок", xaxis_tickformat="%m.%Y"
)
st.plotly_chart(wfig, width="stretch", key="ld_weekly")

st.subheader("Зависшие сделки")
st.caption("Сколько дней сделки ждут на открытых этапах воронки — с последней смены этапа.")
summary = ui.read(leads.stale_summary, f)
st.dataframe(
    {
        "Этап": [labels.label_of(LeadStage, s) for s in summary["stage"]],
        "Сделок": summary["n"],
        "В среднем, дней": [ui.fmt_num(v, 1) for v in summary["avg_days"]],
        "Дольше всех, дней": summary["max_days"],
    },
    hide_index=True,
    column_config={
        "Сделок": st.column_config.NumberColumn(format="localized"),
        "В среднем, дней": ui.number_text(),
    },
    key="ld_stale_summary",
)
stale = ui.read(leads.stale_leads, f)
st.markdown(f"**Дольше всех ждут** — по {leads.STALE_PER_STAGE} сделок на каждом этапе")
st.dataframe(
    {
        "Сделка": [f"№{i}" for i in stale["id"]],
        "Этап": [labels.label_of(LeadStage, s) for s in stale["stage"]],
        "Дней на этапе": stale["days"],
        "На этапе с": stale["status_updated_at"].dt.strftime("%d.%m.%Y"),
        "Проект": stale["project"],
        "Агент": stale["agent"],
        "Комиссия": [ui.fmt_rub(v) for v in stale["fee"]],
    },
    hide_index=True,
    column_config={"Комиссия": ui.number_text()},
    key="ld_stale",
)

st.subheader("Рейтинг агентов")
board = ui.read(leads.leaderboard, f)
st.caption(f"Топ-{len(board)} агентов по выигранной комиссии.")
st.dataframe(
    {
        "Агент": board["agent"],
        "Сделок": board["leads"],
        "Выиграно": board["won"],
        "Конверсия": [ui.fmt_pct(v) for v in board["conversion"]],
        "Комиссия выиграна": [ui.fmt_rub(v) for v in board["fee_won"]],
        "Комиссия в работе": [ui.fmt_rub(v) for v in board["fee_pipeline"]],
        "NPS пройден": board["nps_share"],
    },
    hide_index=True,
    column_config={
        "Сделок": st.column_config.NumberColumn(format="localized"),
        "Выиграно": st.column_config.NumberColumn(format="localized"),
        "Конверсия": ui.number_text(),
        "Комиссия выиграна": ui.number_text(),
        "Комиссия в работе": ui.number_text(),
        "NPS пройден": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1),
    },
    key="ld_board",
)
