"""Lead drill-down in AppTest against the sandbox: a lead shows its client (from Kontur's records, or
plainly that Kontur does not know them) and its premise with its place on the chessboard; the client's
leads follow the reader's scope; another agency's lead is not shown."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from kontur.auth.session import ACTOR_STATE_KEY
from kontur.sandbox.server import RunningSandbox, start_sandbox
from kontur.store.db import Store
from tests.support import ops_store
from tests.support.features import SEED, fill, found_through_kontur, no_exceptions, point_app_at, texts


def _script() -> None:
    import streamlit as st

    from kontur.ui import lead_view
    from tests.support.features import gate

    gate()
    if "client_id" in st.session_state:
        lead_view.client_drilldown(st.session_state["client_id"])
    else:
        lead_view.lead_drilldown(st.session_state["lead_id"])


@pytest.fixture(scope="module")
def world() -> Iterator[RunningSandbox]:
    with start_sandbox(scale=0.01, seed=SEED + 3) as running:
        yield running


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, world: RunningSandbox, tmp_path: Path) -> Iterator[Store]:
    cache_path = fill(world, tmp_path / "kontur.duckdb")
    url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    ops_store.seed_url(url, world.admin().users())  # someone to act as, in the store the app opens
    point_app_at(monkeypatch, world, cache_path, url)
    st.cache_data.clear()
    store = Store.open(url)
    yield store
    store.close()


def _agency_of(world: RunningSandbox) -> dict[int, int | None]:
    return {u["id"]: u["agency_id"] for u in world.admin().users()}


def _open(user_id: int, **state: int) -> AppTest:
    at = AppTest.from_function(_script, default_timeout=90)
    at.session_state[ACTOR_STATE_KEY] = user_id
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    no_exceptions(at)
    return at


def _a_lead(world: RunningSandbox) -> dict:
    agency = _agency_of(world)
    return next(
        lead for lead in world.admin().records("leads")
        if lead["premise_id"] is not None and agency.get(lead["agent_id"]) is not None
    )  # fmt: skip


def test_a_lead_shows_its_premise_and_its_place_on_the_chessboard(world: RunningSandbox, env: Store) -> None:
    admin = world.admin()
    lead = _a_lead(world)
    premise = admin.record("premises", lead["premise_id"])
    building = admin.record("buildings", premise["building_id"])
    section = admin.record("sections", premise["section_id"])
    at = _open(lead["agent_id"], lead_id=lead["id"])
    shown = texts(at).replace("\\", "")
    assert f"Сделка № {lead['id']}" in shown
    assert f"№ {premise['number']}" in shown
    assert f"секция {section['number']} · этаж {premise['floor']} из {building['number_of_floors']}" in shown
    assert building["address"] in shown
    # Kontur never recorded this client: said plainly, with Brusnika's id
    assert "Контур не знает этого клиента" in shown
    assert f"№ {lead['client_id']}" in shown


def test_a_client_kontur_found_shows_name_phone_and_fixing(world: RunningSandbox, env: Store) -> None:
    admin = world.admin()
    lead = _a_lead(world)
    client = admin.client(lead["client_id"])
    found_through_kontur(world, env, client["phone_number"], recorded_by=lead["agent_id"])
    at = _open(lead["agent_id"], lead_id=lead["id"])
    shown = texts(at).replace("\\", "")
    assert client["fullname"] in shown
    assert client["phone_number"] in shown
    assert "Закрепление:" in shown
    assert "Контур не знает" not in shown


def test_another_agencys_lead_is_not_shown(world: RunningSandbox, env: Store) -> None:
    agency = _agency_of(world)
    lead = _a_lead(world)
    mine = agency[lead["agent_id"]]
    outsider = next(
        u for u in world.admin().users()
        if u["role"] == "AGENT" and u["status"] == "active" and u["agency_id"] not in (None, mine)
    )  # fmt: skip
    at = _open(outsider["id"], lead_id=lead["id"])
    shown = texts(at)
    assert f"Сделка № {lead['id']} не найдена или недоступна" in shown
    assert not at.dataframe


def test_a_clients_leads_follow_the_readers_scope(world: RunningSandbox, env: Store) -> None:
    admin = world.admin()
    agency = _agency_of(world)
    leads = [x for x in admin.records("leads") if agency.get(x["agent_id"]) is not None]
    first = leads[0]
    foreign = next(x for x in leads if agency[x["agent_id"]] != agency[first["agent_id"]])
    # the same client in a deal of another agency (a client can go to two agencies)
    admin.patch_record("leads", foreign["id"], client_id=first["client_id"])
    fill(world, Path(os.environ["KONTUR_CACHE_PATH"]))
    st.cache_data.clear()
    theirs = [x for x in admin.records("leads") if x["client_id"] == first["client_id"]]
    reader = first["agent_id"]
    members = {u for u, a in agency.items() if a == agency[reader]}
    expected = sorted(x["id"] for x in theirs if x["agent_id"] in members)
    assert foreign["id"] not in expected
    at = _open(reader, client_id=first["client_id"])
    table = next(d.value for d in at.dataframe if "Сделка" in d.value.columns)
    assert sorted(table["Сделка"]) == expected
    managers = [u for u in admin.users() if u["role"] == "MANAGER" and u["status"] == "active"]
    everyone = _open(managers[0]["id"], client_id=first["client_id"])
    table = next(d.value for d in everyone.dataframe if "Сделка" in d.value.columns)
    assert sorted(table["Сделка"]) == sorted(x["id"] for x in theirs)
    assert foreign["id"] in list(table["Сделка"])


def _funnel_script() -> None:
    import streamlit as st

    from kontur import ui
    from kontur.queries import leads
    from kontur.queries.filters import LeadFilters
    from kontur.queries.funnel import won
    from kontur.ui import funnel_view

    # what the deals page draws, for the reader's scope given here
    scope, f = st.session_state["scope"], LeadFilters()
    drawn = ui.read_scoped(leads.funnel, scope, f)
    funnel_view.kpis(drawn, ui.read_scoped(won, scope, f))
    funnel_view.funnel_section(drawn)
    st.session_state["drawn"] = drawn


STAGES = ["проверка лида", "открыта", "интерес к покупке", "презентация", "бронь", "заявка на договор",
          "договор зарегистрирован", "выиграна"]  # fmt: skip


def _reached_by_rule(stage: str) -> int:
    """How far a lead at `stage` got, by the business rule written out (index into STAGES)."""
    if stage in ("отмененная бронь", "слетевшая бронь"):
        return STAGES.index("бронь")
    return STAGES.index(stage) if stage in STAGES else 0


def test_funnel_by_reach_on_the_sandbox_in_an_agents_scope(world: RunningSandbox, env: Store) -> None:
    from kontur.auth.scopes import ReadScope

    agency = _agency_of(world)
    leads = world.admin().records("leads")
    agent = next(x["agent_id"] for x in leads if agency.get(x["agent_id"]) is not None)
    members = frozenset(u for u, a in agency.items() if a == agency[agent])
    mine = [x for x in leads if x["agent_id"] in members]
    expected = [
        sum(1 for x in mine if _reached_by_rule(x["current_status"]) >= i) for i in range(len(STAGES))
    ]
    at = AppTest.from_function(_funnel_script, default_timeout=90)
    at.session_state["scope"] = ReadScope(members)
    at.run()
    no_exceptions(at)
    drawn = at.session_state["drawn"]
    assert list(drawn.funnel["reached"]) == expected
    assert drawn.total == len(mine)
    won = sum(1 for x in mine if x["current_status"] == "выиграна")
    shown = {m.label: m.value for m in at.metric}
    assert shown["Выиграно"] == str(won)
    assert shown["Дошли до брони"] == str(expected[STAGES.index("бронь")])
    assert any("Отменённая и слетевшая бронь дошли до «Бронь»" in c.value for c in at.caption)


def test_a_lead_by_number_on_the_today_page(world: RunningSandbox, env: Store) -> None:
    from tests.support.features import page

    lead = _a_lead(world)
    at = page("pages/today.py")
    at.session_state[ACTOR_STATE_KEY] = lead["agent_id"]
    at.run()
    no_exceptions(at)
    at.number_input(key="today_lead_id").set_value(lead["id"]).run()
    no_exceptions(at)
    assert f"Сделка № {lead['id']}" in texts(at)
