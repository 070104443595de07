"""The four dashboard pages in real headless Chromium, served by `streamlit run app.py`."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from kontur.sandbox.server import RunningSandbox
from tests.e2e.conftest import AppServer
from tests.support import streamlit_page

pytestmark = pytest.mark.browser

PAGES = ("Наличие", "Шахматка", "Сделки", "Синхронизация")
WAIT_MS = 60_000
ICON = re.compile(r"[a-z_]+")  # generous: two shared cores


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    """A Russian browser, as the sales managers use: number columns follow its locale («1 202»)."""
    return {**browser_context_args, "locale": "ru-RU", "timezone_id": "Asia/Yekaterinburg"}


def idle(page: Page) -> None:
    """The app finished its run: no running indicator (absent = idle)."""
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=WAIT_MS)


HEADINGS = {"Наличие": "Наличие помещений"}  # a page's title where it differs from its navigation entry


def opened(page: Page, url: str) -> None:
    """The app at `url` after its first run: app.py's navigation (until that run ends the browser lists
    pages/ by file name and the sidebar has no scope yet) and the sidebar scope drawn."""
    page.goto(url)
    expect(page.get_by_test_id("stSidebarNavLink").filter(has_text="Наличие")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_test_id("stSidebar").get_by_role("combobox", name="Город")).to_be_visible(
        timeout=WAIT_MS
    )
    idle(page)


def open_choices(page: Page, box: Locator) -> None:
    """Open a selectbox's list. In headless Chromium a click on the sidebar's combobox focuses it but
    leaves it closed (aria-expanded stays false; the main area's open on a click), which read as "0
    options"; the keyboard opens it as a person would, and the list's being open is checked."""
    box.click()
    expect(box).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(box).to_have_attribute("aria-expanded", "true", timeout=WAIT_MS)


def goto(page: Page, title: str) -> None:
    """Open a page from the navigation and wait for *its* title: the previous page's heading (and a
    status widget that has not appeared yet) would otherwise pass for the new page."""
    page.get_by_test_id("stSidebarNavLink").filter(has_text=title).click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_count(1, timeout=WAIT_MS)
    expect(heading).to_have_text(HEADINGS.get(title, title), timeout=WAIT_MS)
    idle(page)


def test_every_page_through_the_navigation(
    page: Page, app_server: AppServer, sandbox: RunningSandbox, artifacts_dir: Path
) -> None:
    page.set_viewport_size({"width": 1440, "height": 2200})
    page.goto(app_server.url)
    expect(page.get_by_test_id("stSidebarNavLink").first).to_be_visible(timeout=WAIT_MS)
    idle(page)
    premises = sandbox.admin().records("premises")

    # Availability: KPIs, then one view at a time: the breakdown (no chart), the map, both distributions.
    goto(page, "Наличие")
    expect(page.get_by_role("heading", name="Наличие помещений")).to_be_visible()
    expect(page.get_by_test_id("stMetric").filter(has_text="Всего помещений")).to_contain_text(
        f"{len(premises):,}".replace(",", "\u202f")
    )
    expect(page.get_by_test_id("stDataFrame").filter(has_text="Доля свободных")).to_have_count(
        1, timeout=WAIT_MS
    )
    expect(page.locator(".js-plotly-plot")).to_have_count(0)
    views = page.get_by_test_id("stButtonGroup")
    views.get_by_text("Карта", exact=True).click()
    expect(page.locator(".js-plotly-plot")).to_have_count(1, timeout=WAIT_MS)
    expect(page.get_by_test_id("stDataFrame").filter(has_text="Доля свободных")).to_have_count(0)
    idle(page)
    views.get_by_text("Цены и площади", exact=True).click()
    expect(page.locator(".js-plotly-plot")).to_have_count(2, timeout=WAIT_MS)
    idle(page)
    page.set_viewport_size({"width": 1440, "height": 3000})
    # Click the first premise of the table (its selection box, left of the plan thumbnail): the card
    # opens with the plan and the project facade, both loaded from the sandbox's /media/ in Chromium.
    table = page.get_by_test_id("stDataFrame").filter(has_text="Планировка")
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 28)  # header row, then the middle of row 1
    card = page.locator(".st-key-av_card")
    expect(card).to_be_visible(timeout=WAIT_MS)
    idle(page)
    # the first row is the cheapest premise; its card shows its plan and its project's facade, each
    # when the record has one (the edge-cases world has a project with a blank photo)
    first = min(premises, key=lambda p: (p["price"], p["id"]))
    project = next(p for p in sandbox.admin().records("projects") if p["id"] == first["project_id"])
    expected = bool(first["photos"]) + bool(project["photo"])
    assert expected >= 1
    expect(card.get_by_role("heading", level=4)).to_contain_text(f"№ {first['number']} ·")
    images = card.locator("img")
    expect(images).to_have_count(expected, timeout=WAIT_MS)
    for i in range(expected):
        src = images.nth(i).get_attribute("src") or ""
        assert "/media/" in src
        # naturalWidth is 0 for a picture that failed to load (the blank thumbnails of before)
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=images.nth(i).element_handle()
        )
    page.screenshot(path=artifacts_dir / "pages-availability.png", full_page=True)
    # the list a page at a time, cheapest first: 50 of them, then the next 50
    ordered = sorted(premises, key=lambda p: (p["price"], p["id"]))
    total = f"{len(premises):,}".replace(",", "\u202f")
    expect(page.get_by_text(f"Показаны 1–50 из {total}")).to_be_visible(timeout=WAIT_MS)
    page.get_by_test_id("stPagination").get_by_role("button", name="Page 2").click()
    expect(page.get_by_text(f"Показаны 51–100 из {total}")).to_be_visible(timeout=WAIT_MS)
    idle(page)
    expect(card).to_have_count(0)  # the row picked on page 1 names no row of page 2
    # the CSV: every matching premise (fewer than the cap here), in the list's order
    download = streamlit_page.download(
        page, page.get_by_role("button", name="Скачать CSV"), timeout_ms=WAIT_MS
    )
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8-sig"))))
    number = rows[0].index("№")
    assert [r[number] for r in rows[1:]] == [str(p["number"]) for p in ordered]
    page.set_viewport_size({"width": 1440, "height": 2200})

    # Chessboard: one cell per premise of the building it shows.
    goto(page, "Шахматка")
    cells = page.locator(".kc-cell[data-premise-id]")
    expect(cells.first).to_be_visible(timeout=WAIT_MS)
    shown_ids = {int(x) for x in cells.evaluate_all("els => els.map(e => e.dataset.premiseId)")}
    by_building = Counter(p["building_id"] for p in premises)
    building = {p["building_id"] for p in premises if p["id"] in shown_ids}
    assert len(building) == 1
    assert cells.count() == len(shown_ids) == by_building[building.pop()]
    page.screenshot(path=artifacts_dir / "pages-chessboard.png", full_page=True)

    # Leads: the funnel has its eight stages.
    goto(page, "Сделки")
    funnel = page.locator(".js-plotly-plot .funnellayer .point")
    expect(funnel).to_have_count(8, timeout=WAIT_MS)
    expect(page.get_by_text("Вне воронки")).to_be_visible()
    expect(page.get_by_test_id("stDateInput")).to_be_visible()
    page.set_viewport_size({"width": 1440, "height": 3400})  # the whole page, down to the leaderboard
    idle(page)
    page.screenshot(path=artifacts_dir / "pages-leads.png", full_page=True)
    page.set_viewport_size({"width": 1440, "height": 2200})

    # Sync health: one row per entity, the button.
    goto(page, "Синхронизация")
    expect(page.get_by_role("button", name="Синхронизировать")).to_be_visible()
    expect(page.get_by_test_id("stMetric").filter(has_text="Последний запуск")).to_contain_text("Успешно")
    page.screenshot(path=artifacts_dir / "pages-sync-health.png", full_page=True)


def test_sidebar_scope_survives_page_switches(
    page: Page, app_server: AppServer, sandbox: RunningSandbox
) -> None:
    opened(page, app_server.url)
    cities = sandbox.admin().records("cities")
    projects = sandbox.admin().records("projects")
    city = max(cities, key=lambda c: sum(1 for p in projects if p["city_id"] == c["id"]))

    sidebar = page.get_by_test_id("stSidebar")
    open_choices(page, sidebar.get_by_role("combobox", name="Город"))
    page.get_by_role("option", name=city["name"], exact=True).click()
    expect(sidebar.get_by_role("combobox", name="Город")).to_have_value(city["name"])
    idle(page)
    goto(page, "Сделки")
    goto(page, "Шахматка")
    expect(sidebar.get_by_role("combobox", name="Город")).to_have_value(city["name"])
    # the project list in the sidebar is the chosen city's
    open_choices(page, sidebar.get_by_role("combobox", name="Проект"))
    options = page.get_by_role("option")
    expected = {p["name"] for p in projects if p["city_id"] == city["id"]}
    expect(options).to_have_count(len(expected) + 1, timeout=WAIT_MS)  # + «Все проекты»
    assert {t.strip() for t in options.all_inner_texts()} == expected | {"Все проекты"}


def test_no_page_in_the_navigation_fails(page: Page, app_server: AppServer, artifacts_dir: Path) -> None:
    """Every entry of the navigation (the forms' pages too) opens without an exception block."""
    page.set_viewport_size({"width": 1440, "height": 1400})
    page.goto(app_server.url)
    links = page.get_by_test_id("stSidebarNavLink")
    # Until the first run ends, the browser lists pages/ by file name; wait for app.py's navigation.
    expect(links.filter(has_text="Наличие")).to_be_visible(timeout=WAIT_MS)
    idle(page)
    # a material icon is a text ligature (e.g. "apartment") beside the title
    titles = [
        next(line.strip() for line in text.splitlines() if line.strip() and not ICON.fullmatch(line.strip()))
        for text in links.all_inner_texts()
    ]
    assert set(PAGES) <= set(titles)
    for i, title in enumerate(titles):
        link = links.filter(has_text=title)
        href = link.get_attribute("href")
        assert href
        link.click()
        expect(page).to_have_url(href, timeout=WAIT_MS)
        expect(page.get_by_test_id("stMain").get_by_test_id("stMarkdownContainer").first).to_be_visible(
            timeout=WAIT_MS
        )
        idle(page)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        page.screenshot(path=artifacts_dir / f"nav-{i:02d}.png")
