"""bench/_proto_session.py against a real dashboard (`streamlit run app.py` on a sandbox's data,
filled by the real sync): the protocol client must see what a browser sees and report what a
browser would show as an error. The expected figures come from the cache itself."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import _proto_widgets as widgets
import pytest
from _proto_page import SIDEBAR
from _proto_session import ProtoSession

from kontur.cache import Cache
from tests.e2e.conftest import app_env, start_app, stop_app
from tests.pages.helpers import fill_cache, number
from tests.support.sandboxes import SandboxFactory


@dataclass(frozen=True)
class Dashboard:
    url: str
    total: int  # premises in the cache
    cities: dict[str, int]  # city name -> its premises
    projects: dict[str, set[str]]  # city name -> its projects' names


@pytest.fixture(scope="module")
def dashboard(
    module_sandboxes: SandboxFactory, tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path
) -> Iterator[Dashboard]:
    sandbox = module_sandboxes(seed=20261204, scale=0.01)
    cache_path = tmp_path_factory.mktemp("proto-session") / "kontur.duckdb"
    fill_cache(sandbox, cache_path)
    with Cache(cache_path) as cache:  # read before the app opens the file read-write
        cur = cache.reader()
        total = cur.execute("SELECT count(*) FROM premises").fetchone()[0]
        cities = dict(
            cur.execute(
                "SELECT c.name, count(p.id) FROM cities c JOIN projects pr ON pr.city_id = c.id "
                "LEFT JOIN premises p ON p.project_id = pr.id GROUP BY c.name"
            ).fetchall()
        )
        projects: dict[str, set[str]] = {}
        for city, project in cur.execute(
            "SELECT c.name, pr.name FROM cities c JOIN projects pr ON pr.city_id = c.id"
        ).fetchall():
            projects.setdefault(city, set()).add(project)
        cur.close()
    proc, url = start_app(app_env(sandbox, cache_path), artifacts_dir / "streamlit-proto-session.log")
    try:
        yield Dashboard(url, total, cities, projects)
    finally:
        stop_app(proc)


def with_session(url: str, body: Callable[[ProtoSession], Awaitable[None]]) -> None:
    async def run() -> None:
        session = ProtoSession(url, timeout=60)
        try:
            opened = await session.open()
            assert opened.ok, opened.error
            await body(session)
        finally:
            await session.close()

    asyncio.run(run())


def headings(session: ProtoSession) -> set[str]:
    return session.page.headings()


def kpi(session: ProtoSession, label: str) -> int:
    values = [n.proto.body for n in session.page.elements("metric") if n.proto.label == label]
    assert values, f"no metric {label!r}"
    return number(values[0])


def test_opening_shows_the_landing_page_and_navigation_opens_availability(dashboard: Dashboard) -> None:
    async def body(session: ProtoSession) -> None:
        assert "Сегодня" in headings(session)  # the landing page's title
        assert {"Наличие", "Шахматка", "Сделки"} <= set(session.pages)
        step = await session.navigate("Наличие")
        assert step.ok, step.error
        assert step.runs == 1
        assert step.bytes > 0
        assert step.ms is not None
        assert "Наличие помещений" in headings(session)
        assert "Сегодня" not in headings(session)  # the previous page's elements are gone
        assert kpi(session, "Всего помещений") == dashboard.total

    with_session(dashboard.url, body)


def test_a_sidebar_city_choice_changes_what_the_page_shows(dashboard: Dashboard) -> None:
    city = min(dashboard.cities, key=lambda c: (dashboard.cities[c], c))
    assert dashboard.cities[city] < dashboard.total  # so the figure must change

    async def body(session: ProtoSession) -> None:
        assert (await session.navigate("Наличие")).ok
        box = session.page.widget("selectbox", "Город", sidebar=True)
        assert box.path[0] == SIDEBAR
        assert city in box.proto.options
        step = await session.set_state(box, widgets.string(box.proto.id, city))
        assert step.ok, step.error
        assert kpi(session, "Всего помещений") == dashboard.cities[city]
        projects = session.page.widget("selectbox", "Проект", sidebar=True)
        assert set(projects.proto.options) == {"Все проекты", *dashboard.projects[city]}
        assert session.value(session.page.widget("selectbox", "Город", sidebar=True)) == city

    with_session(dashboard.url, body)


def test_fragment_widgets_and_a_button_that_switches_page(dashboard: Dashboard) -> None:
    async def body(session: ProtoSession) -> None:
        assert (await session.navigate("Наличие")).ok
        table = session.page.table("Планировка")
        assert table.fragment  # the premises list is a fragment: a row reruns only that
        assert not any(n.key == "av_card" for n in session.page.elements("block"))
        step = await session.set_state(table, widgets.row_selection(table.proto.id, [0]))
        assert step.ok, step.error
        assert any(n.key == "av_card" for n in session.page.elements("block"))  # the premise card
        assert "Наличие помещений" in headings(session)  # the rest of the page stayed

        assert (await session.navigate("Шахматка")).ok
        free = session.page.widget("selectbox", "Свободное помещение")
        step = await session.set_state(free, widgets.string(free.proto.id, free.proto.options[0]))
        assert step.ok, step.error
        step = await session.click(session.page.widget("button", "Забронировать"))
        assert step.ok, step.error
        assert step.runs == 2  # the fragment's run handed over to the booking page's (st.switch_page)
        assert "Бронирования" in headings(session)

    with_session(dashboard.url, body)


def test_an_exception_on_the_page_is_an_error(dashboard: Dashboard) -> None:
    async def body(session: ProtoSession) -> None:
        assert (await session.navigate("Наличие")).ok
        table = session.page.table("Планировка")
        # a selection the grid never sends: the page's script raises on it
        step = await session.set_state(table, widgets.string(table.proto.id, "{not json"))
        assert not step.ok
        assert step.error is not None
        assert "exception on the page" in step.error
        assert session.shown_errors()
        step = await session.navigate("Сделки")  # the next page has no exception: not an error
        assert step.ok, step.error
        assert not session.shown_errors()

    with_session(dashboard.url, body)
