"""The records the contract allows but the generator never makes, in real Chromium: every analytics
page and the card of every edge premise of the sandbox's `--edge-cases` world (the session sandbox of
the browser suites) render without an exception box; the empty-photos premise's card shows no
picture and says so; the building holding the edge premises draws all of them on the chessboard."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from kontur.sandbox.server import RunningSandbox
from tests.e2e.conftest import AppServer

pytestmark = pytest.mark.browser

WAIT_MS = 90_000
PREMISES = (
    "empty_photos_premise",
    "three_photos_premise",
    "empty_features_premise",
    "empty_purchase_premise",
    "zero_rooms_premise",
    "huge_price_premise",
    "zero_size_premise",
    "negative_floor_premise",
)


def idle(page: Page) -> None:
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=WAIT_MS)


def no_exception(page: Page) -> None:
    idle(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)


@pytest.mark.parametrize("name", PREMISES)
def test_the_card_of_every_edge_premise(
    page: Page, app_server: AppServer, sandbox: RunningSandbox, artifacts_dir: Path, name: str
) -> None:
    edge = sandbox.admin().edge_cases()
    premise = sandbox.admin().record("premises", edge[name])
    page.set_viewport_size({"width": 1440, "height": 2000})
    page.goto(f"{app_server.url}/?premise={premise['id']}")
    card = page.locator(".st-key-av_card")
    expect(card).to_be_visible(timeout=WAIT_MS)
    no_exception(page)
    expect(card.get_by_role("heading", level=4)).to_contain_text(f"№ {premise['number']} ·")
    plans = card.locator("img[src*='/media/premises/']")
    if premise["photos"]:
        # the gallery shows every photo of the premise (issue 14), each loaded
        expect(plans).to_have_count(len(premise["photos"]), timeout=WAIT_MS)
        for i in range(len(premise["photos"])):
            page.wait_for_function(
                "img => img.complete && img.naturalWidth > 0", arg=plans.nth(i).element_handle()
            )
    else:
        expect(plans).to_have_count(0)
        expect(card.get_by_text("Фотографий нет.")).to_be_visible()
    if name == "empty_photos_premise":
        page.screenshot(path=artifacts_dir / "edge-empty-photos-card.png", full_page=True, timeout=WAIT_MS)


def test_every_analytics_page_on_the_edge_building(
    page: Page, app_server: AppServer, sandbox: RunningSandbox, artifacts_dir: Path
) -> None:
    """The sidebar scoped to the building that holds every edge premise: Наличие, Шахматка (one cell
    per premise, floor -3 drawn) and Сделки render."""
    edge = sandbox.admin().edge_cases()
    building = sandbox.admin().record("buildings", edge["totals_mismatch_building"])
    page.set_viewport_size({"width": 1440, "height": 2400})
    page.goto(app_server.url)
    expect(page.get_by_test_id("stSidebarNavLink").first).to_be_visible(timeout=WAIT_MS)
    idle(page)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_test_id("stSelectbox").filter(has_text="Здание").click()
    page.keyboard.type(building["address"])
    page.get_by_role("option", name=building["address"], exact=True).click()
    no_exception(page)
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Наличие").click()  # «Сегодня» lands first
    expect(page.get_by_test_id("stMetric").filter(has_text="Всего помещений")).to_be_visible(timeout=WAIT_MS)
    no_exception(page)

    page.get_by_test_id("stSidebarNavLink").filter(has_text="Шахматка").click()
    cells = page.locator(".kc-cell[data-premise-id]")
    expect(cells.first).to_be_visible(timeout=WAIT_MS)
    no_exception(page)
    shown = {int(x) for x in cells.evaluate_all("els => els.map(e => e.dataset.premiseId)")}
    assert {edge[name] for name in PREMISES} <= shown
    expect(page.locator(".kc-floor", has_text="-3")).to_have_count(1)
    page.screenshot(path=artifacts_dir / "edge-chessboard.png", full_page=True, timeout=WAIT_MS)

    page.get_by_test_id("stSidebarNavLink").filter(has_text="Сделки").click()
    expect(page.locator(".js-plotly-plot .funnellayer .point")).to_have_count(8, timeout=WAIT_MS)
    no_exception(page)
