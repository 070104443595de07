"""The pages of issue 14 in real Chromium: the project card (срок сдачи, the edge-case building's
mismatch flagged), the map (points render though no tile can be fetched here, and a click scopes the
dashboard), and «Сегодня» with an expiring fixing, a showing and a selection change.
Screenshots: test-artifacts/project-card.png, today.png."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from kontur.client import BrusnikaClient
from kontur.models import VisitCreate
from kontur.sandbox.server import RunningSandbox, start_sandbox
from kontur.store import selections as store_sel
from kontur.store import visits as store_visits
from kontur.store.db import Store
from tests.support.features import SEED, found_through_kontur
from tests.support.features_browser import WAIT_MS, act_as, features_app, idle, open_page, sync_now

pytestmark = pytest.mark.browser

# the trace layers plotly adds to MapLibre, and what it rendered of them
RENDERED_POINTS_JS = """() => {
  const gd = document.querySelector('.js-plotly-plot');
  const map = gd && gd._fullLayout.map && gd._fullLayout.map._subplot.map;
  if (!map || !map.loaded()) return null;
  const layers = map.getStyle().layers.map(l => l.id)
    .filter(id => id.includes('plotly-trace-layer') && id.endsWith('-circle'));
  return map.queryRenderedFeatures({layers}).length;
}"""
POINT_XY_JS = """([lon, lat]) => {
  const gd = document.querySelector('.js-plotly-plot');
  const map = gd._fullLayout.map._subplot.map;
  const p = map.project([lon, lat]);
  const box = map.getCanvas().getBoundingClientRect();
  return [box.left + p.x, box.top + p.y];
}"""


@pytest.fixture(scope="module")
def world() -> Iterator[RunningSandbox]:
    with start_sandbox(scale=0.01, seed=SEED + 5, extra_args=("--edge-cases",)) as running:
        yield running


@pytest.fixture(scope="module")
def served(
    world: RunningSandbox, tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path
) -> Iterator[tuple[str, Path, str]]:
    with features_app(
        world, tmp_path_factory.mktemp("feat-e2e"), artifacts_dir / "streamlit-features.log"
    ) as s:
        yield s


def test_project_card_shows_completion_date_and_flags_the_mismatch(
    page: Page, world: RunningSandbox, served: tuple[str, Path, str], artifacts_dir: Path
) -> None:
    url, _, _ = served
    admin = world.admin()
    edge = admin.edge_cases()
    project = admin.record("projects", edge["edge_project"])
    page.set_viewport_size({"width": 1500, "height": 1100})
    open_page(page, url, "project", "Проект")
    page.get_by_test_id("stMain").get_by_test_id("stSelectbox").filter(has_text="Проект").click()
    page.keyboard.type(project["name"])
    page.get_by_role("option").filter(has_text=project["name"]).first.click()
    idle(page)
    end = dt.date.fromisoformat(project["end_date"]).strftime("%d.%m.%Y")
    expect(page.get_by_test_id("stMetric").filter(has_text="Срок сдачи")).to_contain_text(
        end, timeout=WAIT_MS
    )
    warning = page.get_by_test_id("stAlertContentWarning").filter(has_text="Одна из двух сторон устарела")
    expect(warning.first).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    idle(page)
    page.get_by_test_id("stExpander").first.locator("summary").first.click()  # fold the map away
    idle(page)
    page.set_viewport_size({"width": 1500, "height": 1500})  # the app scrolls inside its own pane
    idle(page)
    page.screenshot(path=str(artifacts_dir / "project-card.png"))


def test_map_points_render_without_network(
    page: Page, world: RunningSandbox, served: tuple[str, Path, str], artifacts_dir: Path
) -> None:
    url, _, _ = served
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.set_viewport_size({"width": 1500, "height": 1100})
    open_page(page, url, "project", "Проект")
    expect(page.locator(".js-plotly-plot")).to_be_visible(timeout=WAIT_MS)
    admin = world.admin()
    cities, projects = admin.records("cities"), admin.records("projects")
    page.wait_for_function(f"() => ({RENDERED_POINTS_JS})() >= {len(cities)}", timeout=WAIT_MS)
    assert any("basemaps.cartocdn.com" in u for u in failed), failed  # the tiles could not be fetched...
    rendered = page.evaluate(RENDERED_POINTS_JS)
    assert rendered >= len(cities) + len(projects) - 2  # ...and the points are drawn all the same
    page.screenshot(path=str(artifacts_dir / "map-offline.png"))


@pytest.mark.parametrize(("path", "heading"), [("project", "Проект"), ("availability", "Наличие помещений")])
def test_a_click_on_the_map_scopes_the_dashboard(
    page: Page, world: RunningSandbox, tmp_path: Path, artifacts_dir: Path, path: str, heading: str
) -> None:
    """With no tiles configured (`KONTUR_MAP_STYLE=white-bg`): offline, failing tile fetches make the
    browser drop the selection event before Streamlit sends it (plotly emits it; seen here). On
    «Наличие» the map is a view of a fragment: the click must still rerun the whole app (the sidebar
    and the KPIs are outside the fragment). The map redrawn for the new scope raises nothing in the
    page (a style without sources was «Map error.» on every update)."""
    log = artifacts_dir / f"streamlit-features-map-{path}.log"
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    with features_app(world, tmp_path, log, {"KONTUR_MAP_STYLE": "white-bg"}) as (url, _, _):
        page.set_viewport_size({"width": 1500, "height": 1100})
        open_page(page, url, path, heading)
        if path == "availability":
            page.get_by_test_id("stButtonGroup").get_by_text("Карта", exact=True).click()
            expect(page.locator(".js-plotly-plot")).to_be_visible(timeout=WAIT_MS)
            idle(page)
            page.locator(".js-plotly-plot").scroll_into_view_if_needed()  # below the filters and KPIs
        cities = world.admin().records("cities")
        page.wait_for_function(f"() => ({RENDERED_POINTS_JS})() >= {len(cities)}", timeout=WAIT_MS)
        city = max(cities, key=lambda c: float(c["long"]))  # the easternmost: nobody overlaps it
        x, y = page.evaluate(POINT_XY_JS, [float(city["long"]), float(city["lat"])])
        page.mouse.click(x, y)
        idle(page)
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar.get_by_role("combobox", name="Город")).to_have_value(city["name"], timeout=WAIT_MS)
        if path == "availability":
            in_city = {p["id"] for p in world.admin().records("projects") if p["city_id"] == city["id"]}
            n = sum(p["project_id"] in in_city for p in world.admin().records("premises"))
            total = page.get_by_test_id("stMetric").filter(has_text="Всего помещений")
            expect(total).to_contain_text(f"{n:,}".replace(",", "\u202f"), timeout=WAIT_MS)
        # the map of the new scope has drawn its points: any style error of that update is in by now
        page.wait_for_function(f"() => ({RENDERED_POINTS_JS})() >= 1", timeout=WAIT_MS)
        idle(page)
        assert not [e for e in errors if "Map error" in e], errors


def test_today_lists_an_expiring_fixing_a_showing_and_a_selection_change(
    page: Page, world: RunningSandbox, served: tuple[str, Path, str], artifacts_dir: Path
) -> None:
    url, _, store_url = served
    admin = world.admin()
    agent = next(
        u for u in admin.users() if u["role"] == "AGENT" and u["status"] == "active" and u["agency_id"]
    )
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=3, hours=5)
    admin.create_client(
        agent_id=agent["id"],
        fixing_type="сильное закрепление",
        expiration_date=expires.isoformat(),
        fullname="Закрепова Елена Сергеевна",
        phone_number="+79990001122",
    )
    premise = next(
        p
        for p in admin.records("premises")
        if p["type"] == "apartment" and not p["is_booked"] and not p["is_sold"]
    )
    with Store.open(store_url) as store:
        client = found_through_kontur(world, store, "+79990001122", recorded_by=agent["id"])
        with BrusnikaClient(base_url=world.api_url, token=world.token) as api:
            visit = api.create_visit(
                VisitCreate(
                    project_id=premise["project_id"], agent_id=agent["id"], client_id=client.id,
                    date=dt.datetime.now(dt.UTC).date(), time="16:30",
                )
            )  # fmt: skip
        with store.write() as tx:
            store_visits.save_visits(tx, [visit], recorded_by=agent["id"])
            made = store_sel.create_selection(
                tx, name="Закреповым", owner_id=agent["id"], agency_id=agent["agency_id"]
            )
            store_sel.add_premise(
                tx,
                made.id,
                premise_id=premise["id"],
                price=premise["price"],
                status="free",
                added_by=agent["id"],
                agent_ids=None,
            )
    admin.patch_record("premises", premise["id"], is_sold=True)
    page.set_viewport_size({"width": 1500, "height": 1200})
    # «Сегодня» is the landing page: the app's root
    sync_now(page, url)  # brings the sale into the cache
    open_page(page, url, "", "Сегодня")
    act_as(page, agent)
    main = page.get_by_test_id("stMain")
    expect(main).to_contain_text("Закрепление истекает в ближайшие 7 дн. · 1", timeout=WAIT_MS)
    expect(main).to_contain_text("Показы сегодня и завтра · 1")
    expect(main).to_contain_text("Изменения в ваших подборках с момента добавления · 1")
    expect(page.get_by_test_id("stDataFrame")).to_have_count(3)
    idle(page)
    page.screenshot(path=str(artifacts_dir / "today.png"), full_page=True)
