"""Partner text stays text, in real Chromium: the analytics pages on data full of hostile strings
(`<script>`, `<img src=x onerror=…>`, `<iframe srcdoc=…>`, markdown links and images, `javascript:`
URLs, formula cells, 10 kB names, RTL overrides) show it as inert text.

For each view (Наличие, a premise card, Шахматка, Сделки) the elements that could run or load
something (`iframe[srcdoc]`, `img[src="x"]`, `script`, `a[href^="javascript:"]`) are listed and
compared with the same view of the app on clean data: Streamlit's own scripts are the same on both, so
any difference came from the data. No dialog (alert/confirm/prompt) may fire. The availability
table's CSV download holds no cell a spreadsheet would run."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from kontur.sandbox.server import RunningSandbox
from tests.e2e.conftest import AppServer, app_env, start_app, stop_app
from tests.pages import records
from tests.pages.helpers import fill_cache, user_with

pytestmark = pytest.mark.browser

WAIT_MS = 60_000
DANGEROUS = (
    "iframe[srcdoc], img[src='x'], script, a[href^='javascript:'], iframe, object, embed, "
    "[data-testid='stMarkdownContainer'] a[href]:not([href^='#'])"  # a heading's own anchor is no data
)
SIGNATURE = """(selector) => Array.from(document.querySelectorAll(selector)).map(e =>
    [e.tagName, e.getAttribute('src') || '', e.getAttribute('srcdoc') || '', e.getAttribute('href') || '',
     e.getAttribute('type') || '', (e.textContent || '').slice(0, 200)].join('|')).sort()"""
FORMULA_START = ("=", "+", "-", "@")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


@pytest.fixture(scope="module")
def hostile_server(
    sandbox: RunningSandbox, artifacts_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[AppServer, records.World]]:
    path = tmp_path_factory.mktemp("hostile") / "kontur.duckdb"
    fill_cache(sandbox, path)
    world = records.hostile_and_edge_world([user_with(sandbox, "AGENT")["id"]])
    records.load(path, world)
    proc, url = start_app(app_env(sandbox, path), artifacts_dir / "streamlit-hostile.log")
    try:
        yield AppServer(url=url, cache_path=path), world
    finally:
        stop_app(proc)


def idle(page: Page) -> None:
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=WAIT_MS)


def dangerous(page: Page) -> list[str]:
    return page.evaluate(SIGNATURE, DANGEROUS)


def choose(page: Page, box, text: str) -> None:
    """Pick the option of a selectbox that starts with `text`, typing to narrow the list first."""
    box.click()
    page.keyboard.type(text)
    page.get_by_role("option").filter(has_text=text).first.click()
    idle(page)


def open_view(page: Page, base: str, view: str, *, premise: int, building: str, manager: str) -> None:
    """Open one view and wait until its data is drawn."""
    if view == "card":
        page.goto(f"{base}/?premise={premise}")
        expect(page.locator(".st-key-av_card")).to_be_visible(timeout=WAIT_MS)
    elif view == "availability":
        page.goto(base)
        expect(page.get_by_test_id("stMetric").first).to_be_visible(timeout=WAIT_MS)
        expect(page.locator(".js-plotly-plot")).to_have_count(3, timeout=WAIT_MS)
    elif view == "chessboard":
        page.goto(base)
        expect(page.get_by_test_id("stSidebarNavLink").first).to_be_visible(timeout=WAIT_MS)
        idle(page)
        page.get_by_test_id("stSidebarNavLink").filter(has_text="Шахматка").click()
        idle(page)
        choose(
            page,
            page.get_by_test_id("stMain").get_by_test_id("stSelectbox").filter(has_text="Здание"),
            building,
        )
        expect(page.locator(".kc-cell").first).to_be_visible(timeout=WAIT_MS)
    elif view == "leads":
        page.goto(base)
        expect(page.get_by_test_id("stSidebarNavLink").first).to_be_visible(timeout=WAIT_MS)
        idle(page)
        page.get_by_test_id("stSidebarNavLink").filter(has_text="Сделки").click()
        idle(page)
        sidebar = page.get_by_test_id("stSidebar")
        choose(page, sidebar.get_by_test_id("stSelectbox").filter(has_text="Действую от имени"), manager)
        expect(page.locator(".js-plotly-plot .funnellayer .point")).to_have_count(8, timeout=WAIT_MS)
    idle(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)


@pytest.mark.parametrize("view", ["availability", "card", "chessboard", "leads"])
def test_hostile_text_stays_text(
    page: Page,
    view: str,
    app_server: AppServer,
    hostile_server: tuple[AppServer, records.World],
    sandbox: RunningSandbox,
    artifacts_dir: Path,
) -> None:
    server, world = hostile_server
    page.set_viewport_size({"width": 1440, "height": 2400})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    manager = user_with(sandbox, "MANAGER")
    who = f"{manager['lastName']} {manager['firstName']}"
    clean_premise = sandbox.admin().records("premises")[0]
    clean_building = next(
        b for b in sandbox.admin().records("buildings") if b["id"] == clean_premise["building_id"]
    )

    open_view(
        page,
        app_server.url,
        view,
        premise=clean_premise["id"],
        building=clean_building["address"],
        manager=who,
    )
    clean = dangerous(page)

    open_view(
        page,
        server.url,
        view,
        premise=world.ids["hostile_number"],
        building="ул. <iframe",
        manager=who,
    )
    page.screenshot(path=artifacts_dir / f"hostile-{view}.png", full_page=True, timeout=WAIT_MS)
    assert dangerous(page) == clean
    # the hostile text is on the page, as text
    shown = {
        "availability": page.locator(".js-plotly-plot text"),  # the city's label on the map
        "card": page.locator(".st-key-av_card"),
        "chessboard": page.locator(".kc-sec-title"),
        "leads": page.get_by_test_id("stMain"),
    }[view]
    if view != "leads":
        assert any("<iframe srcdoc=" in t for t in shown.evaluate_all("els => els.map(e => e.textContent)"))
    assert dialogs == []


def test_the_availability_csv_runs_nothing(
    page: Page, hostile_server: tuple[AppServer, records.World], sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """The CSV the availability page offers, downloaded in Chromium: no text cell starts with a
    character a spreadsheet would run (a cell may start with "-" only as a plain number)."""
    server, _ = hostile_server
    page.set_viewport_size({"width": 1440, "height": 2400})
    manager = user_with(sandbox, "MANAGER")
    open_view(page, server.url, "availability", premise=0, building="", manager=manager["lastName"])
    sidebar = page.get_by_test_id("stSidebar")
    choose(page, sidebar.get_by_test_id("stSelectbox").filter(has_text="Город"), "Город <iframe")
    expect(page.get_by_test_id("stMetric").first).to_be_visible(timeout=WAIT_MS)
    with page.expect_download(timeout=WAIT_MS) as download:
        page.get_by_role("button", name="Скачать CSV").click()
    target = tmp_path / "nalichie.csv"
    download.value.save_as(target)
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert rows[0][:3] == ["Планировка", "Город", "Проект"]
    cells = [c for row in rows for c in row]
    assert len(rows) > 1
    assert "'" + records.FORMULA + records.IMG in cells  # the hostile premise number, neutralised
    for cell in cells:
        if cell.startswith(FORMULA_START):
            assert NUMBER.fullmatch(cell), cell
