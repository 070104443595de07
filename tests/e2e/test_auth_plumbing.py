"""Sign-in plumbing in real Chromium against a real OIDC provider, on a tiny probe app: Streamlit's
st.login round trip, matching to the directory, refusals, and sign-out. Independent of the dashboard's
pages, so a failure here points at the sign-in layer itself."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest_auth import (
    OidcProvider,
    RunningApp,
    auth_secrets_toml,
    free_port,
    run_oidc_provider,
    run_streamlit,
)
from tests.support import oidc

pytestmark = pytest.mark.browser

PROBE = Path(__file__).with_name("auth_probe_app.py")


def _user(uid: int, email: str, role: str, status: str = "active", agency: int | None = 5) -> dict:
    return {
        "id": uid,
        "lastName": f"Тестов{uid}",
        "firstName": "Иван",
        "phone": "+79990000000",
        "email": email,
        "status": status,
        "role": role,
        "agency_id": agency,
    }


DIRECTORY = [
    _user(1, "manager@kontur.test", "MANAGER", agency=None),
    _user(2, "agent@agency.test", "AGENT"),
    _user(3, "blocked@agency.test", "AGENT", status="blocked"),
]
PROVIDER_USERS = [
    {"sub": "manager", "email": "Manager@Kontur.test", "email_verified": True, "name": "Manager"},
    {"sub": "agent", "email": "agent@agency.test", "email_verified": True},
    {"sub": "blocked", "email": "blocked@agency.test", "email_verified": True},
    {"sub": "stranger", "email": "stranger@elsewhere.test", "email_verified": True},
    # A known directory address the provider does not vouch for: never signed in as that user.
    {"sub": "unverified", "email": "agent@agency.test"},
    {"sub": "disowned", "email": "agent@agency.test", "email_verified": False},
]


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    with run_oidc_provider(tmp_path_factory.mktemp("oidc"), PROVIDER_USERS) as running:
        yield running


@pytest.fixture(scope="module")
def probe(provider: OidcProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    port = free_port()
    with run_streamlit(
        PROBE,
        port=port,
        secrets_toml=auth_secrets_toml(app_port=port, provider=provider),
        workdir=tmp_path_factory.mktemp("probe"),
        env={"KONTUR_PROBE_USERS": json.dumps(DIRECTORY)},
    ) as app:
        yield app


def sign_in(page: Page, app: RunningApp, sub: str) -> None:
    """From the app's sign-in screen through the provider's authorize page, back to the app."""
    oidc.sign_in(page, app.url, sub, with_query=False)


def test_manager_signs_in_and_out(page: Page, probe: RunningApp) -> None:
    sign_in(page, probe, "manager")
    expect(page.get_by_text("Здравствуйте, Тестов1 Иван")).to_be_visible()
    expect(page.get_by_text("identity: Manager@Kontur.test (user #1)")).to_be_visible()
    expect(page.get_by_text("create_booking: True")).to_be_visible()
    expect(page.get_by_text("Менеджер", exact=True)).to_be_visible()

    # A reload keeps the session (Streamlit's signed identity cookie).
    page.reload()
    expect(page.get_by_text("Здравствуйте, Тестов1 Иван")).to_be_visible()

    page.get_by_test_id("stSidebar").get_by_role("button", name="Выйти").click()
    # The provider's end-session page, then back to the app.
    page.wait_for_url(re.compile(r"/oauth2/end_session"))
    page.get_by_role("button", name="End session").click()
    expect(page.get_by_role("button", name="Войти")).to_be_visible()
    expect(page.get_by_text("Здравствуйте")).to_have_count(0)
    # And stays signed out on a fresh load: the cookie is gone, not just this tab's state.
    page.goto(probe.url)
    expect(page.get_by_role("button", name="Войти")).to_be_visible()
    expect(page.get_by_text("Здравствуйте")).to_have_count(0)


def test_agent_policy_applies_after_sign_in(page: Page, probe: RunningApp) -> None:
    sign_in(page, probe, "agent")
    expect(page.get_by_text("Здравствуйте, Тестов2 Иван")).to_be_visible()
    expect(page.get_by_text(re.compile(r"cancel other agency: False — .*другому агентству"))).to_be_visible()


@pytest.mark.parametrize(
    ("sub", "reason"),
    [
        ("blocked", "Пользователь blocked@agency.test заблокирован"),
        ("stranger", "Пользователь stranger@elsewhere.test не найден"),
        ("unverified", "Адрес agent@agency.test не подтверждён"),
        ("disowned", "Адрес agent@agency.test не подтверждён"),
    ],
)
def test_refused_at_sign_in(page: Page, probe: RunningApp, sub: str, reason: str) -> None:
    sign_in(page, probe, sub)
    expect(page.get_by_text("Вход не выполнен")).to_be_visible()
    expect(page.get_by_text(reason)).to_be_visible()
    # Nothing else: no greeting, no sidebar account.
    expect(page.get_by_text("Здравствуйте")).to_have_count(0)
    expect(page.get_by_text("identity:")).to_have_count(0)
