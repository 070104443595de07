"""Leads page in AppTest: funnel and KPIs equal independent SQL for every filter."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from kontur.cache import Cache
from kontur.models import FUNNEL_STAGES, OUTCOME_STAGES
from kontur.sandbox.server import RunningSandbox
from kontur.store import schema
from kontur.store.db import Store
from tests.pages.helpers import (
    APP,
    NBSP,
    act_as,
    configure,
    count,
    fill_cache,
    metric,
    no_exceptions,
    pick_scope,
    store_url,
    texts,
    user_with,
)


@pytest.fixture
def leads_page(app: AppTest, sandbox: RunningSandbox) -> AppTest:
    """The leads page as a MANAGER reads it (every lead: the policy's `view_leads` is "a")."""
    act_as(app, user_with(sandbox, "MANAGER")["id"])
    app.switch_page("pages/leads.py").run()
    no_exceptions(app)
    return app


def funnel_table(at: AppTest):
    return next(d.value for d in at.dataframe if "Сейчас на этапе" in d.value.columns)


# The reach rule written out stage by stage (not the app's table): a stage is reached by the leads now
# at it or at a later funnel stage; a cancelled or fallen booking reached «бронь» and every stage
# before it; a lost or paused lead (and any stage not known here) counts only in the entry.
FUNNEL = [s.value for s in FUNNEL_STAGES]
BOOKING_DROPS = ["отмененная бронь", "слетевшая бронь"]


def reach_sql(i: int) -> tuple[str, list]:
    """The condition "the lead reached funnel stage i" over `current_status`, and its parameters."""
    if i == 0:
        return "TRUE", []
    if i <= FUNNEL.index("бронь"):
        return "list_contains(?, current_status)", [FUNNEL[i:] + BOOKING_DROPS]
    return "list_contains(?, current_status)", [FUNNEL[i:]]


def check_against(at: AppTest, db: Cache, where: str, params: list) -> int:
    """Every number of the page's head equals SQL over the cache for the same filter."""
    base = f"SELECT count(*) FROM leads WHERE ({where})"  # noqa: S608 -- the test's own constant text
    total = count(db, base, params)
    assert metric(at, "Сделок") == total
    table = funnel_table(at)
    for i, stage in enumerate(FUNNEL_STAGES):
        assert table["Сейчас на этапе"].iloc[i] == count(
            db, f"{base} AND current_status = ?", [*params, stage.value]
        )
        cond, extra = reach_sql(i)
        assert table["Дошли до этапа"].iloc[i] == count(db, f"{base} AND {cond}", [*params, *extra])
    assert table["Дошли до этапа"].iloc[0] == total  # everyone entered the funnel
    booking = FUNNEL.index("бронь")
    assert metric(at, "Дошли до брони") == table["Дошли до этапа"].iloc[booking]
    won = count(db, f"{base} AND current_status = 'выиграна'", params)
    assert metric(at, "Выиграно") == won
    for stage in OUTCOME_STAGES:
        label = {"отмененная бронь": "Отменённая бронь", "слетевшая бронь": "Слетевшая бронь",
                 "проиграна": "Проиграна", "на паузе": "На паузе"}[stage.value]  # fmt: skip
        assert metric(at, label) == count(db, f"{base} AND current_status = ?", [*params, stage.value])
    if won:  # the won leads' states are named beside the number
        assert "Выигранные — этап «Выиграна»; их статус:" in texts(at)
    assert "Отменённая и слетевшая бронь дошли до «Бронь»" in texts(at)  # the rule under the funnel
    return total


def test_renders_funnel_and_outcomes(leads_page: AppTest, db: Cache) -> None:
    total = check_against(leads_page, db, "TRUE", [])
    assert total > 0
    charts = leads_page.get("plotly_chart")
    assert len(charts) == 1  # the funnel (the weekly starts are a section of their own)
    table = funnel_table(leads_page)
    conv = table["Конверсия из предыдущего"]
    reached = table["Дошли до этапа"]
    assert conv.iloc[0] == "—"  # no stage before the first
    for i in range(1, len(table)):
        # Russian percent text, one decimal: «83,9 %»
        shown = float(conv.iloc[i].replace(NBSP, "").replace("%", "").replace(",", "."))
        assert shown == pytest.approx(100 * reached.iloc[i] / reached.iloc[i - 1], abs=0.05)
    leads_page.button_group(key="ld_section").set_value("board").run()
    board = next(d.value for d in leads_page.dataframe if "Выиграно" in d.value.columns)
    top = board.iloc[0]
    agent_leads = count(
        db,
        "SELECT count(*) FROM leads GROUP BY agent_id "
        "ORDER BY coalesce(sum(fee) FILTER (WHERE current_status = 'выиграна'), 0) DESC, "
        "count(*) FILTER (WHERE current_status = 'выиграна') DESC, agent_id LIMIT 1",
    )
    assert top["Сделок"] == agent_leads
    # won on the leaderboard is the KPI's won: the stage, summed over agents (every agent is listed)
    if len(board) < 50:
        assert int(board["Выиграно"].sum()) == metric(leads_page, "Выиграно")


def test_state_filter(leads_page: AppTest, db: Cache) -> None:
    leads_page.multiselect(key="ld_states").set_value(["Активные"]).run()
    no_exceptions(leads_page)
    assert check_against(leads_page, db, "state = ?", ["Активные"]) < count(db, "SELECT count(*) FROM leads")


def test_agent_and_manager_filters(leads_page: AppTest, db: Cache) -> None:
    agent = count(db, "SELECT agent_id FROM leads GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
    leads_page.multiselect(key="ld_agents").set_value([agent]).run()
    no_exceptions(leads_page)
    check_against(leads_page, db, "agent_id = ?", [agent])

    leads_page.multiselect(key="ld_agents").set_value([]).run()
    manager = count(
        db,
        "SELECT manager_id FROM leads WHERE manager_id IS NOT NULL "
        "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
    )
    leads_page.multiselect(key="ld_managers").set_value([manager]).run()
    no_exceptions(leads_page)
    check_against(leads_page, db, "manager_id = ?", [manager])


def test_a_choice_whose_label_is_gone_filters_nothing_and_breaks_nothing(
    leads_page: AppTest, db: Cache
) -> None:
    """A browser sends back the label it showed; one the list no longer has (a renamed agent, a list
    from before a sync) arrives as bare text. The page drops it instead of failing, and a label never
    changes with the data (no deal count in it: a sync under an open list broke the choice)."""
    agent = count(db, "SELECT agent_id FROM leads GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
    box = leads_page.multiselect(key="ld_agents")
    label = next(o for o in box.options if o.endswith(f"(№{agent})"))
    box.set_value([agent]).run()
    assert leads_page.multiselect(key="ld_agents").value == [agent]
    leads_page.multiselect(key="ld_agents").set_value(["Козлова Юлия (28)"]).run()
    no_exceptions(leads_page)
    check_against(leads_page, db, "TRUE", [])  # every lead: the stale choice is no filter
    assert label in leads_page.multiselect(key="ld_agents").options


def test_start_date_range(leads_page: AppTest, db: Cache) -> None:
    lo = date.fromisoformat(str(_one(db, "SELECT min(start_date)::VARCHAR FROM leads")))
    hi = date.fromisoformat(
        str(_one(db, "SELECT (min(start_date) + INTERVAL 90 DAY)::DATE::VARCHAR FROM leads"))
    )
    leads_page.date_input(key="ld_period").set_value((lo, hi)).run()
    no_exceptions(leads_page)
    total = check_against(leads_page, db, "start_date BETWEEN ? AND ?", [lo, hi])
    assert 0 < total < count(db, "SELECT count(*) FROM leads")


def test_city_and_project_from_the_sidebar(leads_page: AppTest, db: Cache) -> None:
    city = count(db, "SELECT pr.city_id FROM leads l JOIN projects pr ON pr.id = l.project_id GROUP BY 1 "
                     "ORDER BY count(*) DESC, 1 LIMIT 1")  # fmt: skip
    pick_scope(leads_page, city=city)
    check_against(leads_page, db, "project_id IN (SELECT id FROM projects WHERE city_id = ?)", [city])
    project = count(
        db,
        "SELECT l.project_id FROM leads l JOIN projects pr ON pr.id = l.project_id "
        "WHERE pr.city_id = ? GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
        [city],
    )
    pick_scope(leads_page, project=project)
    check_against(leads_page, db, "project_id = ?", [project])


def test_empty_result_shows_a_message(leads_page: AppTest, db: Cache) -> None:
    # an agent, and a day on which that agent started no lead
    agent, day = _row(
        db,
        "SELECT a.agent_id, d.day::DATE FROM (SELECT min(agent_id) AS agent_id FROM leads) a, "
        "(SELECT unnest(generate_series(min(start_date), max(start_date), INTERVAL 1 DAY)) AS day "
        "FROM leads) d "
        "WHERE NOT EXISTS (SELECT 1 FROM leads l WHERE l.agent_id = a.agent_id AND l.start_date = d.day) "
        "ORDER BY d.day LIMIT 1",
    )
    leads_page.multiselect(key="ld_agents").set_value([agent]).run()
    leads_page.date_input(key="ld_period").set_value((day, day)).run()
    no_exceptions(leads_page)
    assert "Нет сделок, подходящих под выбранные фильтры" in texts(leads_page)


def _one(db: Cache, sql: str) -> object:
    return _row(db, sql)[0]


def _row(db: Cache, sql: str) -> tuple:
    cur = db.reader()
    try:
        row = cur.execute(sql).fetchone()
    finally:
        cur.close()
    assert row is not None
    return row


def test_agent_search_finds_people_beyond_the_list_and_keeps_the_choice(
    leads_page: AppTest, db: Cache, sandbox: RunningSandbox
) -> None:
    agents = count(db, "SELECT count(DISTINCT agent_id) FROM leads")
    shown = leads_page.multiselect(key="ld_agents").options
    assert 0 < len(shown) <= min(agents, 50)
    # the agent with the fewest leads is not among the busiest shown by default
    quiet = count(db, "SELECT agent_id FROM leads GROUP BY 1 ORDER BY count(*), 1 LIMIT 1")
    name = _name(sandbox, quiet)
    if agents > 50:
        assert not any(o.startswith(f"{name} (") for o in shown)
    leads_page.text_input(key="ld_agents_search").set_value(str(quiet)).run()  # by number
    no_exceptions(leads_page)
    found = leads_page.multiselect(key="ld_agents").options
    assert len(found) == 1
    assert found[0].startswith(f"{name} (")
    leads_page.multiselect(key="ld_agents").set_value([quiet]).run()
    # another search: the chosen agent stays chosen and still filters the page
    leads_page.text_input(key="ld_agents_search").set_value("").run()
    no_exceptions(leads_page)
    assert leads_page.multiselect(key="ld_agents").value == [quiet]
    check_against(leads_page, db, "agent_id = ?", [quiet])


def _name(sandbox: RunningSandbox, user_id: int) -> str:
    """As the page names a person: from the directory, or by number when it does not hold them (the
    edge-cases sandbox has a lead of such an agent)."""
    user = next((u for u in sandbox.admin().users() if u["id"] == user_id), None)
    return f"Агент #{user_id}" if user is None else f"{user['lastName']} {user['firstName']}"


def test_people_are_shown_by_name_from_the_users_directory(
    leads_page: AppTest, sandbox: RunningSandbox
) -> None:
    """With the local users directory filled, the leaderboard, stale leads and the agent choice name
    people («Фамилия Имя»), not «Агент #12»."""
    names = {f"{u['lastName']} {u['firstName']}" for u in sandbox.admin().users()}
    stale = next(d.value for d in leads_page.dataframe if "Дней на этапе" in d.value.columns)
    leads_page.button_group(key="ld_section").set_value("board").run()
    board = next(d.value for d in leads_page.dataframe if "Выиграно" in d.value.columns)
    assert len(board) > 0
    assert len(stale) > 0
    assert set(board["Агент"]) <= names
    assert set(stale["Агент"]) <= names
    options = leads_page.multiselect(key="ld_agents").options
    assert options
    assert all(o.rsplit(" (", 1)[0] in names for o in options)


def test_people_absent_from_the_directory_are_shown_by_number(
    monkeypatch: pytest.MonkeyPatch, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """Leads of agents the directory does not hold: «Агент #12», and only for a reader who sees every
    lead (a scoped reader cannot tell whose agency they are in)."""
    path = tmp_path / "kontur.duckdb"
    fill_cache(sandbox, path)
    manager = user_with(sandbox, "MANAGER")
    with Store.open(store_url(path)) as store, store.write() as tx:
        tx.execute(sa.delete(schema.users).where(schema.users.c.role != "MANAGER"))
    configure(monkeypatch, sandbox, path)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    act_as(at, manager["id"])
    at.switch_page("pages/leads.py").run()
    no_exceptions(at)
    at.button_group(key="ld_section").set_value("board").run()
    board = next(d.value for d in at.dataframe if "Выиграно" in d.value.columns)
    assert len(board) > 0
    assert all(name.startswith("Агент #") for name in board["Агент"])


def test_one_section_at_a_time_below_the_funnel(leads_page: AppTest, db: Cache) -> None:
    """«Зависшие сделки» by default; «Новые по неделям» adds its chart to the funnel's; «Рейтинг
    агентов» its table: only the chosen section is read and drawn."""
    assert leads_page.button_group(key="ld_section").value == "stale"
    assert len(leads_page.get("plotly_chart")) == 1  # the funnel's only
    assert "Зависшие сделки" in [h.value for h in leads_page.subheader]
    assert not [d for d in leads_page.dataframe if "Выиграно" in d.value.columns]

    leads_page.button_group(key="ld_section").set_value("weekly").run()
    no_exceptions(leads_page)
    assert len(leads_page.get("plotly_chart")) == 2
    assert "Зависшие сделки" not in [h.value for h in leads_page.subheader]

    leads_page.button_group(key="ld_section").set_value("board").run()
    no_exceptions(leads_page)
    assert len(leads_page.get("plotly_chart")) == 1
    board = next(d.value for d in leads_page.dataframe if "Выиграно" in d.value.columns)
    assert 0 < len(board) <= count(db, "SELECT count(DISTINCT agent_id) FROM leads")
