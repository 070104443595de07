"""The action forms in real headless Chromium: `streamlit run app.py` against a private sandbox and a
cache file filled by the real sync, the directory seeded from the sandbox (what demo mode does)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from kontur.cache import Cache
from kontur.client import BrusnikaClient
from kontur.sandbox.server import RunningSandbox
from kontur.sync import run_sync
from tests.e2e.conftest import start_app, stop_app
from tests.pages.helpers import store_url
from tests.support import features_browser, ops_store, streamlit_page
from tests.support.sandboxes import SandboxFactory

pytestmark = pytest.mark.browser

WAIT_MS = 60_000  # generous: two shared cores
SEED = 5150


@pytest.fixture(scope="module")
def box(module_sandboxes: SandboxFactory) -> RunningSandbox:
    # Its own sandbox: these tests book premises, which other tests' counts would notice.
    return module_sandboxes(scale=0.02, seed=SEED)


@pytest.fixture(scope="module")
def forms_app(
    box: RunningSandbox, tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path
) -> Iterator[str]:
    path = tmp_path_factory.mktemp("forms-e2e") / "kontur.duckdb"
    with Cache(path) as cache, BrusnikaClient(base_url=box.api_url, token=box.token) as client:
        result = run_sync(cache, client)
        assert result.ok, result
    with box.admin() as admin:  # the directory, in the operational store the app opens beside the cache
        ops_store.seed_url(store_url(path), admin.users())
    proc, url = start_app(
        {
            "BRUSNIKA_API_URL": box.api_url,
            "BRUSNIKA_API_TOKEN": box.token,
            "KONTUR_CACHE_PATH": str(path),
            "KONTUR_AUTO_SYNC": "0",
            # A configured API without [auth]: the development picker (red banner on every page).
            "KONTUR_INSECURE_DEV_PICKER": "1",
        },
        artifacts_dir / "streamlit-forms-e2e.log",
    )
    try:
        yield url
    finally:
        stop_app(proc)


def premise_state(box: RunningSandbox, premise_id: int) -> bool:
    with box.admin() as admin:
        return next(p for p in admin.records("premises") if p["id"] == premise_id)["is_booked"]


def booked_premises(box: RunningSandbox) -> set[int]:
    with box.admin() as admin:
        return {p["id"] for p in admin.records("premises") if p["is_booked"]}


def bookings_made(box: RunningSandbox) -> int:
    with box.admin() as admin:
        return int(admin.stats()["outbound"]["bookings"])


def agent_with_bookings_left(box: RunningSandbox) -> dict:
    with box.admin() as admin:
        directory = admin.users()
    return max(
        (u for u in directory if u["role"] == "AGENT" and u["status"] == "active"),
        key=lambda u: (u["remaining_user_creation_limit"], -u["id"]),
    )


def create_client(page: Page, fullname: str, phone: str) -> None:
    """On the clients page (already open), as the acting user."""
    page.get_by_role("tab", name="Новый клиент").click()
    page.get_by_label("ФИО (фамилия, имя, отчество)").fill(fullname)
    page.get_by_label("Телефон", exact=True).fill(phone)
    page.get_by_role("button", name="Завести клиента").click()
    expect(page.get_by_test_id("stAlertContentSuccess").first).to_contain_text("заведён", timeout=WAIT_MS)
    streamlit_page.settle(page, WAIT_MS)


def test_book_from_chessboard_cancel_and_double_submit(
    page: Page, forms_app: str, box: RunningSandbox, artifacts_dir: Path
) -> None:
    page.set_viewport_size({"width": 1440, "height": 2000})
    page.goto(forms_app)
    expect(page.get_by_test_id("stSidebarNavLink").first).to_be_visible(timeout=WAIT_MS)
    streamlit_page.settle(page, WAIT_MS)
    streamlit_page.go(page, "Клиенты", "Клиенты", timeout_ms=WAIT_MS)
    features_browser.act_as(page, agent_with_bookings_left(box), timeout_ms=WAIT_MS)
    create_client(page, "Воронцова Елена Андреевна", "8 (812) 555-01-01")

    # The chessboard: pick a free premise and press its booking button.
    streamlit_page.go(page, "Шахматка", "Шахматка", timeout_ms=WAIT_MS)
    streamlit_page.pick_first(page, "Свободное помещение", timeout_ms=WAIT_MS)
    page.get_by_role("button", name="Забронировать").click()
    expect(page.get_by_role("heading", name="Бронирования")).to_be_visible(timeout=WAIT_MS)
    streamlit_page.settle(page, WAIT_MS)
    premise_box = page.get_by_role("combobox", name="Помещение", exact=True)
    expect(premise_box).to_have_value(re.compile("№"), timeout=WAIT_MS)
    premise_number = re.search(r"№(\S+)", premise_box.input_value())
    assert premise_number is not None

    streamlit_page.choose(page, "Клиент", "Воронцова", timeout_ms=WAIT_MS, exact=True)
    page.get_by_label("Время (ЧЧ:ММ)").fill("13:40")
    before = bookings_made(box)
    booked_before = booked_premises(box)
    # A double click on the submit button: two submissions of the same form.
    page.get_by_test_id("stFormSubmitButton").filter(has_text="Забронировать").locator("button").dblclick()
    success = page.get_by_test_id("stAlertContentSuccess").first
    expect(success).to_contain_text("создана", timeout=WAIT_MS)
    streamlit_page.settle(page, WAIT_MS)
    assert bookings_made(box) == before + 1
    booking_id = int(re.search(r"№(\d+)", success.inner_text()).group(1))  # type: ignore[union-attr]
    newly = booked_premises(box) - booked_before
    assert len(newly) == 1, newly  # the sandbox shows exactly this premise booked
    premise_id = newly.pop()
    with box.admin() as admin:
        assert next(p for p in admin.records("premises") if p["id"] == premise_id)[
            "number"
        ] == premise_number.group(1)
    expect(page.get_by_text("Статус: Открыта")).to_be_visible()
    page.screenshot(path=artifacts_dir / "forms-booked.png", full_page=True)
    # The chessboard shows it booked at once, from the local cache (no sync in between).
    streamlit_page.go(page, "Шахматка", "Шахматка", timeout_ms=WAIT_MS)
    expect(page.locator(f".kc-cell[data-premise-id='{premise_id}']")).to_have_attribute(
        "data-status", "booked", timeout=WAIT_MS
    )
    streamlit_page.go(page, "Бронирования", "Бронирования", timeout_ms=WAIT_MS)

    # Cancel behind the confirmation dialog: the premise is free again, there and here.
    page.get_by_role("button", name="Отменить").first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Отменить бронь №{booking_id}", timeout=WAIT_MS)
    dialog.get_by_role("button", name="Да, отменить бронь").click()
    expect(page.get_by_test_id("stAlertContentSuccess").first).to_contain_text("отменена", timeout=WAIT_MS)
    streamlit_page.settle(page, WAIT_MS)
    assert premise_state(box, premise_id) is False
    expect(page.get_by_text("Статус: Не состоялась")).to_be_visible()
    streamlit_page.go(page, "Шахматка", "Шахматка", timeout_ms=WAIT_MS)
    expect(page.locator(f".kc-cell[data-premise-id='{premise_id}']")).to_have_attribute(
        "data-status", "free", timeout=WAIT_MS
    )


def test_bad_phone_is_refused_and_kept(page: Page, forms_app: str, box: RunningSandbox) -> None:
    page.goto(forms_app)
    expect(page.get_by_test_id("stSidebarNavLink").first).to_be_visible(timeout=WAIT_MS)
    streamlit_page.settle(page, WAIT_MS)
    streamlit_page.go(page, "Клиенты", "Клиенты", timeout_ms=WAIT_MS)
    features_browser.act_as(page, agent_with_bookings_left(box), timeout_ms=WAIT_MS)
    page.get_by_role("tab", name="Новый клиент").click()
    page.get_by_label("ФИО (фамилия, имя, отчество)").fill("Тихонов Илья")
    page.get_by_label("Телефон", exact=True).fill("+7 812 55")
    page.get_by_role("button", name="Завести клиента").click()
    expect(page.get_by_text("Нужен российский номер")).to_be_visible(timeout=WAIT_MS)
    streamlit_page.settle(page, WAIT_MS)
    expect(page.get_by_label("ФИО (фамилия, имя, отчество)")).to_have_value("Тихонов Илья")
    expect(page.get_by_label("Телефон", exact=True)).to_have_value("+7 812 55")
