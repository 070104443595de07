"""Every read on the form pages is scoped by the policy, in real Chromium, signed in through the real
OIDC provider: an AGENT of agency A sees no row of agency B in «Брони/Показы, сделанные здесь», in
the client pickers, or in the history and its CSV; a HEAD_OF_AGENCY of A sees only A's people on
the Users page (its CSV). The data behind each page is read (the listed records' numbers, the
pickers' options, the CSV rows), and each check also finds agency A's own rows, so none can pass by
showing nothing."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from kontur.forms import clients, visits
from kontur.forms.context import FormContext
from kontur.sandbox.server import RunningSandbox
from tests.e2e.conftest_auth import (
    OidcProvider,
    RunningApp,
    dashboard_env,
    form_context,
    run_signed_in_app,
    synced_cache,
)
from tests.support import oidc, streamlit_page
from tests.support.form_records import book_through_forms
from tests.support.sandbox_records import free_premise, free_slot
from tests.support.sandboxes import SandboxFactory
from tests.support.waiting import eventually

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SEED = 737373
WAIT_MS = 60_000


@pytest.fixture(scope="module")
def box(module_sandboxes: SandboxFactory) -> RunningSandbox:
    return module_sandboxes(scale=0.02, seed=SEED)


@pytest.fixture(scope="module")
def people(box: RunningSandbox) -> dict[str, dict]:
    """An agent and the head of agency A, an agent of agency B (both agents able to book)."""
    with box.admin() as admin:
        directory = admin.users()
    active = [u for u in directory if u["status"] == "active"]
    for head in (u for u in active if u["role"] == "HEAD_OF_AGENCY"):
        mine = [
            u
            for u in active
            if u["role"] == "AGENT"
            and u["agency_id"] == head["agency_id"]
            and u["remaining_user_creation_limit"] > 1
        ]
        theirs = [
            u
            for u in active
            if u["role"] == "AGENT"
            and u["agency_id"] != head["agency_id"]
            and u["remaining_user_creation_limit"] > 1
        ]
        if mine and theirs:
            return {"agent_a": mine[0], "head_a": head, "agent_b": theirs[0]}
    pytest.fail("no agency with a head and an agent who can book, next to another agency's agent")


def act(box: RunningSandbox, ctx: FormContext, name: str, phone: str) -> dict:
    """As the context's actor, through the real form functions: a client, a booking and a visit for them."""
    made = clients.create(ctx, clients.ClientInput(fullname=name, phone_number=phone))
    assert made.ok, made.message
    assert made.result is not None
    with box.admin() as admin:
        premise = free_premise(admin, with_option=True)
        slot = free_slot(admin, future=True)
    booked = book_through_forms(ctx, premise, made.result.id, days_ahead=2, time="10:00")
    shown = visits.create(
        ctx,
        visits.VisitInput(project_id=slot["project_id"], client_id=made.result.id, time_slot_id=slot["id"]),
    )
    assert shown.ok, shown.message
    assert shown.result is not None
    return {"client": name, "booking": booked.id, "visit": shown.result.id}


@pytest.fixture(scope="module")
def world(box: RunningSandbox, people: dict[str, dict], tmp_path_factory: pytest.TempPathFactory) -> dict:
    path = synced_cache(box, tmp_path_factory.mktemp("scoped") / "kontur.duckdb")
    with form_context(box, path, people["agent_a"]) as ctx:
        a = act(box, ctx, "Своева Анна Агентовна", "+7 812 610-00-01")
    with form_context(box, path, people["agent_b"]) as ctx:
        b = act(box, ctx, "Чужова Бэлла Бэевна", "+7 812 610-00-02")
    return {"cache": path, "a": a, "b": b}


@pytest.fixture(scope="module")
def app(
    box: RunningSandbox, world: dict, provider: OidcProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningApp]:
    env = dashboard_env(box, world["cache"])
    with run_signed_in_app(provider, tmp_path_factory.mktemp("scoped-app"), env) as running:
        yield running


def settle(page: Page) -> None:
    streamlit_page.settle(page, WAIT_MS)


def sign_in(page: Page, app: RunningApp, sub: str) -> None:
    oidc.sign_in(page, app.url, sub, settle_ms=WAIT_MS)


def listed_ids(page: Page) -> set[int]:
    """The record numbers of «… сделанные здесь» as the page lists them (each row starts «№N ·»)."""
    rows = page.get_by_test_id("stMain").get_by_test_id("stMarkdown").filter(has_text=re.compile(r"^№\d+ ·"))
    return {int(re.match(r"№(\d+)", rows.nth(i).inner_text()).group(1)) for i in range(rows.count())}  # type: ignore[union-attr]


def picker_options(page: Page, box: Locator) -> list[str]:
    """Every option a selectbox offers (it is opened, read, and closed again)."""
    expect(box).to_be_visible(timeout=WAIT_MS)
    options = page.get_by_role("listbox").get_by_role("option")

    def opened() -> int:
        # A rerun that lands just after the click redraws the box closed: open it again then.
        if not options.count():
            box.click()
        return options.count()

    eventually(opened, timeout=WAIT_MS / 1000, interval=0.5, what="the selectbox's options")
    texts = [options.nth(i).inner_text() for i in range(options.count())]
    page.keyboard.press("Escape")
    expect(page.get_by_role("listbox")).to_have_count(0)
    return texts


def download_csv(page: Page) -> list[dict[str, str]]:
    download = streamlit_page.download(
        page, page.get_by_role("button", name="Скачать CSV"), timeout_ms=30_000
    )
    text = Path(download.path()).read_text(encoding="utf-8-sig")  # Excel's UTF-8, as every table's CSV
    return list(csv.DictReader(io.StringIO(text)))


def test_agent_of_agency_a_sees_no_row_of_agency_b(
    page: Page, app: RunningApp, world: dict, people: dict[str, dict]
) -> None:
    a, b = world["a"], world["b"]
    sign_in(page, app, "agent_a")

    streamlit_page.go(page, "Бронирования", "Брони, сделанные здесь", timeout_ms=WAIT_MS)
    shown = listed_ids(page)
    assert a["booking"] in shown
    assert b["booking"] not in shown
    client_box = page.get_by_test_id("stMain").get_by_role("combobox", name="Клиент").first
    options = picker_options(page, client_box)
    assert any(a["client"] in o for o in options)
    assert not any(b["client"] in o for o in options)

    streamlit_page.go(page, "Показы", "Показы, назначенные здесь", timeout_ms=WAIT_MS)
    shown = listed_ids(page)
    assert a["visit"] in shown
    assert b["visit"] not in shown
    client_box = page.get_by_test_id("stMain").get_by_role("combobox", name="Клиент").first
    options = picker_options(page, client_box)
    assert any(a["client"] in o for o in options)
    assert not any(b["client"] in o for o in options)

    streamlit_page.go(page, "История действий", "История действий", timeout_ms=WAIT_MS)
    rows = download_csv(page)
    who = {row["Кто"] for row in rows}
    b_name = f"{people['agent_b']['lastName']} {people['agent_b']['firstName']}"
    a_name = f"{people['agent_a']['lastName']} {people['agent_a']['firstName']}"
    assert any(a_name in w for w in who)
    assert not any(b_name in w for w in who)
    assert not any(
        str(b["booking"]) == row["№ в Брусника"] for row in rows if row["Действие"] == "Бронирование"
    )
    # The Users page is not theirs at all.
    expect(page.get_by_test_id("stSidebarNavLink").filter(has_text="Пользователи")).to_have_count(0)


def test_head_of_agency_a_sees_only_agency_a_people(
    page: Page, app: RunningApp, people: dict[str, dict], box: RunningSandbox
) -> None:
    sign_in(page, app, "head_a")
    streamlit_page.go(page, "Пользователи", "Пользователи", timeout_ms=WAIT_MS)
    rows = download_csv(page)
    with box.admin() as admin:
        agency_of = {u["id"]: u["agency_id"] for u in admin.users()}
    listed = {int(row["№"]) for row in rows}
    assert people["agent_a"]["id"] in listed
    assert people["agent_b"]["id"] not in listed
    assert {agency_of[uid] for uid in listed} == {people["head_a"]["agency_id"]}
    # What the form offers a head of agency: AGENT or NEW_MEMBER, no booking limit.
    chooser = (
        page.get_by_test_id("stMain").get_by_test_id("stSelectbox").filter(has_text="Кого изменить").first
    )
    chooser.click()
    page.get_by_role("option").filter(
        has_text=f"{people['agent_a']['lastName']} {people['agent_a']['firstName']}"
    ).first.click()
    settle(page)
    role_box = page.get_by_role("combobox", name="Роль", exact=True)
    assert sorted(picker_options(page, role_box)) == ["Агент", "Новый участник"]
    expect(page.get_by_label("Осталось броней")).to_be_disabled()
