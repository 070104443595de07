"""Сделки: the funnel with conversions, outcomes beside it, weekly starts, stale leads, agents."""

from __future__ import annotations

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

base = LeadFilters(city_id=scope.city_id, project_id=scope.project_id)
agents = ui.read(leads.people_options, "agent_id", base)
managers = ui.read(leads.people_options, "manager_id", base)
agent_names = dict(zip(agents["id"].astype(int), agents["name"], strict=True))
manager_names = dict(zip(managers["id"].astype(int), managers["name"], strict=True))
dates = ui.read(leads.start_bounds)

with st.expander("Фильтры", expanded=True, icon=":material/tune:"):
    c1, c2, c3, c4 = st.columns(4)
    agent_ids = c1.multiselect(
        "Агент", list(agent_names), format_func=agent_names.get, placeholder="Все агенты", key="ld_agents"
    )
    manager_ids = c2.multiselect(
        "Менеджер",
        list(manager_names),
        format_func=manager_names.get,
        placeholder="Все менеджеры",
        key="ld_managers",
    )
    states = c3.multiselect(
        "Состояние",
        [s.value for s in LeadState],
        format_func=lambda v: labels.label_of(LeadState, v),
        placeholder="Все",
        key="ld_states",
    )
    period = c4.date_input(
        "Дата начала",
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
            textinfo="value+percent initial",
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
            "Конверсия из предыдущего": fd["conversion"].astype(float),  # first stage: blank
        },
        hide_index=True,
        column_config={"Конверсия из предыдущего": st.column_config.NumberColumn(format="percent")},
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
s1, s2 = st.columns([5, 7])
summary = ui.read(leads.stale_summary, f)
s1.dataframe(
    {
        "Этап": [labels.label_of(LeadStage, s) for s in summary["stage"]],
        "Сделок": summary["n"],
        "В среднем, дней": summary["avg_days"],
        "Дольше всех, дней": summary["max_days"],
    },
    hide_index=True,
    key="ld_stale_summary",
)
stale = ui.read(leads.stale_leads, f)
s2.dataframe(
    {
        "Сделка": stale["id"],
        "Этап": [labels.label_of(LeadStage, s) for s in stale["stage"]],
        "Дней на этапе": stale["days"],
        "Проект": stale["project"],
        "Агент": stale["agent"],
        "Комиссия, ₽": stale["fee"],
    },
    hide_index=True,
    column_config={"Комиссия, ₽": st.column_config.NumberColumn(format="%,d ₽")},
    key="ld_stale",
)

st.subheader("Рейтинг агентов")
board = ui.read(leads.leaderboard, f)
st.dataframe(
    {
        "Агент": board["agent"],
        "Сделок": board["leads"],
        "Выиграно": board["won"],
        "Конверсия": board["conversion"],
        "Комиссия выиграна, ₽": board["fee_won"],
        "Комиссия в работе, ₽": board["fee_pipeline"],
        "NPS пройден": board["nps_share"],
    },
    hide_index=True,
    column_config={
        "Конверсия": st.column_config.NumberColumn(format="percent"),
        "Комиссия выиграна, ₽": st.column_config.NumberColumn(format="%,d ₽"),
        "Комиссия в работе, ₽": st.column_config.NumberColumn(format="%,d ₽"),
        "NPS пройден": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1),
    },
    key="ld_board",
)
