"""Сделки: the funnel by reach with its rule and conversions, outcomes beside it; below, one section
at a time: stale leads (each opens its client and premise), weekly starts, the agents' ranking.

Every read is scoped to the leads the reader may see (`view_leads`: everyone's, or their agency's).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from kontur import labels, ui
from kontur.auth import session as auth_session
from kontur.models import LeadState
from kontur.queries import LeadFilters, leads
from kontur.queries.funnel import won as won_q
from kontur.ui import access, charts, funnel_view, lead_view, tables
from kontur.ui.safe import plain

auth_session.require_app_run()  # a deep link before any app run: rerun through app.py's gate
st.title("Сделки")
ui.stop_if_cache_empty()
readers = access.lead_scope()
if readers.nothing:
    ui.no_access("сделки")
if not readers.everything:
    st.caption("Показаны сделки агентов вашего агентства.")
scope = ui.current_scope()
if scope.building_id is not None:
    st.caption("Фильтр по зданию к сделкам не применяется: сделка относится к проекту.")

base = LeadFilters(city_id=scope.city_id, project_id=scope.project_id)
dates = ui.read_scoped(leads.start_bounds, readers)
# Another reader (or new data) starts from fresh filters: a date range or agents chosen for one
# reader's leads would otherwise narrow the next one's without saying so.
FILTER_KEYS = ("ld_agents", "ld_agents_search", "ld_managers", "ld_managers_search", "ld_states", "ld_period")
access.forget_when_changed((readers.key(), dates), FILTER_KEYS, name="ld_filters")


def person_filter(
    search_col: Any, pick_col: Any, role: str, label: str, everyone: str, key: str
) -> list[int]:
    """A searchable choice of agents/managers: at scale 10 there are 30,000 agents, so the list
    offers the busiest ones and whoever matches the search box, never all of them at once."""
    # A label the list no longer has (a renamed person) comes back from the browser as bare text:
    # no longer a choice, rather than a crash.
    chosen = tuple(int(v) for v in st.session_state.get(key, ()) if isinstance(v, int))
    search = search_col.text_input(
        f"Найти: {label.lower()}",
        key=f"{key}_search",
        placeholder="фамилия, имя или №",
        help=f"Список справа — до {leads.PEOPLE_SHOWN} человек с наибольшим числом сделок; "
        "остальных найдёт поиск.",
    )
    people = ui.read_scoped(leads.people_options, readers, role, base, search, chosen)
    names = {int(i): plain(n, limit=80) for i, n in zip(people["id"], people["name"], strict=True)}
    # Labels must not change with the data: Streamlit matches a kept choice by its label, and a deal
    # count in it changed with every sync under a person's open list (the choice came back as text).
    picked = pick_col.multiselect(
        label,
        list(names),
        format_func=lambda v: f"{names.get(v, v)} (№{v})",
        placeholder=everyone,
        key=key,
        help="Первыми — у кого больше сделок.",
    )
    return [int(v) for v in picked if isinstance(v, int)]


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
funnel = ui.read_scoped(leads.funnel, readers, f)
if funnel.total == 0:
    ui.no_results("сделок")
    st.stop()

funnel_view.kpis(funnel, ui.read_scoped(won_q, readers, f))
funnel_view.funnel_section(funnel)

# One section at a time below the funnel: only the chosen one is read, built and sent (three tables
# and a chart on every run were half of the page's time in the browser at scale 10).
SECTIONS = {"stale": "Зависшие сделки", "weekly": "Новые по неделям", "board": "Рейтинг агентов"}
section = st.segmented_control(
    "Раздел", list(SECTIONS), format_func=SECTIONS.get, default="stale", required=True, key="ld_section"
)

if section == "weekly":
    st.subheader("Новые сделки по неделям")
    st.plotly_chart(
        charts.weekly_starts(ui.read_scoped(leads.weekly_starts, readers, f)),
        width="stretch",
        key="ld_weekly",
    )
elif section == "board":
    st.subheader("Рейтинг агентов")
    board = tables.leaderboard(ui.read_scoped(leads.leaderboard, readers, f))
    st.caption(f"Топ-{len(board)} агентов по выигранной комиссии.")
    st.dataframe(board, hide_index=True, column_config=tables.LEADERBOARD_CONFIG, key="ld_board")
    tables.download_csv(board, "reyting-agentov.csv", key="ld_board_csv")
else:
    st.subheader("Зависшие сделки")
    st.caption("Сколько дней сделки ждут на открытых этапах воронки — с последней смены этапа.")
    st.dataframe(
        tables.stale_summary(ui.read_scoped(leads.stale_summary, readers, f)),
        hide_index=True,
        column_config=tables.STALE_SUMMARY_CONFIG,
        key="ld_stale_summary",
    )
    stale_rows = ui.read_scoped(leads.stale_leads, readers, f)
    stale = tables.stale_leads(stale_rows)
    st.markdown(
        f"**Дольше всех ждут** — по {leads.STALE_PER_STAGE} сделок на каждом этапе. "
        "Выберите строку — откроются клиент и помещение сделки."
    )
    st.dataframe(
        stale,
        hide_index=True,
        column_config=tables.STALE_LEADS_CONFIG,
        on_select=lead_view.open_from_table(stale_rows["id"].tolist(), table_key="ld_stale", key="ld_lead"),
        selection_mode="single-row",
        key="ld_stale",
    )
    tables.download_csv(stale, "zavisshie-sdelki.csv", key="ld_stale_csv")
    lead_view.drilldown_section(key="ld_lead")
