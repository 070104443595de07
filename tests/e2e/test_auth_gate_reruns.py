"""The sign-in gate runs before every action, including a dialog's own rerun (which does not run
`app.py`), in real Chromium through the real OIDC provider: a manager opens the cancel dialog of a
booking; meanwhile an administrator (another browser) blocks them on the Users page; the manager's
«Да, отменить бронь» then cancels nothing at Brusnika and the manager sees they are blocked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from kontur.forms import clients
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
from tests.support.sandbox_records import free_premise, premise_booked
from tests.support.sandboxes import SandboxFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SEED = 848484
WAIT_MS = 60_000


@pytest.fixture(scope="module")
def box(module_sandboxes: SandboxFactory) -> RunningSandbox:
    return module_sandboxes(scale=0.02, seed=SEED)


@pytest.fixture(scope="module")
def people(box: RunningSandbox) -> dict[str, dict]:
    with box.admin() as admin:
        active = [u for u in admin.users() if u["status"] == "active"]
    return {
        "manager": next(u for u in active if u["role"] == "MANAGER"),
        "admin": next(u for u in active if u["role"] == "ADMIN"),
        "agent": next(u for u in active if u["role"] == "AGENT" and u["remaining_user_creation_limit"] > 0),
    }


@pytest.fixture(scope="module")
def world(box: RunningSandbox, people: dict[str, dict], tmp_path_factory: pytest.TempPathFactory) -> dict:
    path = synced_cache(box, tmp_path_factory.mktemp("gate") / "kontur.duckdb")
    with form_context(box, path, people["agent"]) as ctx:
        made = clients.create(
            ctx, clients.ClientInput(fullname="Отменова Ольга", phone_number="+7 812 620-00-01")
        )
        assert made.ok, made.message
        assert made.result is not None
        with box.admin() as admin:
            premise = free_premise(admin, with_option=True)
        booked = book_through_forms(ctx, premise, made.result.id, days_ahead=2, time="10:00")
    return {"cache": path, "booking": booked.id, "premise": premise["id"]}


@pytest.fixture(scope="module")
def app(
    box: RunningSandbox, world: dict, provider: OidcProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningApp]:
    env = dashboard_env(box, world["cache"])
    with run_signed_in_app(provider, tmp_path_factory.mktemp("gate-app"), env) as running:
        yield running


def settle(page: Page) -> None:
    streamlit_page.settle(page, WAIT_MS)


def sign_in(page: Page, app: RunningApp, sub: str) -> None:
    oidc.sign_in(page, app.url, sub, settle_ms=WAIT_MS)


def choose(page: Page, label: str, text: str) -> None:
    streamlit_page.choose(page, label, text, timeout_ms=WAIT_MS)


def test_blocked_meanwhile_the_dialog_cancels_nothing(
    page: Page, browser: Browser, app: RunningApp, box: RunningSandbox, world: dict, people: dict[str, dict]
) -> None:
    manager = people["manager"]
    sign_in(page, app, "manager")
    streamlit_page.go(page, "Бронирования", "Брони, сделанные здесь", timeout_ms=WAIT_MS)
    row = page.get_by_test_id("stHorizontalBlock").filter(has_text=f"№{world['booking']} ")
    row.get_by_role("button", name="Отменить").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Отменить бронь №{world['booking']}", timeout=WAIT_MS)

    # Another browser: the administrator blocks the manager on the Users page.
    other = browser.new_context()
    try:
        admin_page = other.new_page()
        sign_in(admin_page, app, "admin")
        streamlit_page.go(admin_page, "Пользователи", "Пользователи", timeout_ms=WAIT_MS)
        choose(admin_page, "Кого изменить", f"{manager['lastName']} {manager['firstName']}")
        choose(admin_page, "Статус", "Заблокирован")
        admin_page.get_by_role("button", name="Передать в Брусника").click()
        expect(admin_page.get_by_test_id("stAlertContentSuccess")).to_contain_text("передан", timeout=WAIT_MS)
    finally:
        other.close()
    with box.admin() as admin:
        assert next(u for u in admin.users() if u["id"] == manager["id"])["status"] == "blocked"

    # The manager, still looking at the open dialog, confirms: the dialog's rerun runs the gate first.
    dialog.get_by_role("button", name="Да, отменить бронь").click()
    expect(page.get_by_text(f"Пользователь {manager['email']} заблокирован")).to_be_visible(timeout=WAIT_MS)
    settle(page)
    assert premise_booked(box, world["premise"]) is True  # nothing was cancelled at Brusnika
    expect(page.get_by_test_id("stSidebarNavLink")).to_have_count(0)
