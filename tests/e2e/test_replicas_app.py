"""Two dashboards on one PostgreSQL, from a fresh machine, in real Chromium behind real sign-in.

`kontur users add` (a subprocess, against the configured API) makes the first administrator in an
empty operational store; two `app.py` processes (replicas A and B: their own cache files, synced by
the real REST sync, one PostgreSQL database for Kontur's records) sign people in through a real OIDC
provider. The administrator signs in on A and creates the next user (an agent) in the Users page;
that agent signs in on A, registers a client and books a premise; the administrator, on B, sees the
booking in B's list, finds the user A created and blocks them; A refuses the agent at their next
click. Both saves, and the booking, are audit rows of the one `actions` table."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from kontur.cache import Cache
from kontur.config import Settings
from kontur.forms import users
from kontur.sandbox.server import RunningSandbox
from kontur.store import schema
from kontur.store.db import Store
from kontur.sync import run_sync
from tests.e2e.conftest_auth import (
    REPO,
    OidcProvider,
    RunningApp,
    run_oidc_provider,
    run_signed_in_app,
)
from tests.support import oidc, ops_store, streamlit_page
from tests.support.postgres import PostgresServer
from tests.support.sandboxes import SandboxFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WAIT_MS = 90_000  # generous: two shared cores, two apps
SEED = 6262
ADMIN = {"id": 990_101, "email": "first.admin@kontur.example", "last": "Первова", "first": "Анна"}
CLIENT = "Третьякова Вера Ильинична"
NEWBIE = {
    "email": "next.agent@kontur.example",
    "last": "Второв",
    "first": "Борис",
    "phone": "+7 912 000-00-07",
}


@pytest.fixture(scope="module")
def box(module_sandboxes: SandboxFactory) -> RunningSandbox:
    return module_sandboxes(scale=0.02, seed=SEED)


@pytest.fixture(scope="module")
def database_url(postgres: PostgresServer) -> str:
    return postgres.new_database("replicas")


def kontur_env(box: RunningSandbox, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRUSNIKA_", "KONTUR_"))}
    env.update(
        BRUSNIKA_API_URL=box.api_url,
        BRUSNIKA_API_TOKEN=box.token,
        KONTUR_DATABASE_URL=database_url,
        PYTHONPATH=str(REPO),
    )
    return env


@pytest.fixture(scope="module")
def first_admin(box: RunningSandbox, database_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """`kontur users add` on an empty store: the only person Kontur knows."""
    with Store.open(database_url) as store:
        assert ops_store.count(store, schema.users) == 0
    who = ["--id", str(ADMIN["id"]), "--email", ADMIN["email"], "--role", "ADMIN"]
    names = ["--last-name", ADMIN["last"], "--first-name", ADMIN["first"]]
    done = subprocess.run(
        [sys.executable, "-m", "kontur", "users", "add", *who, *names],
        env=kontur_env(box, database_url),
        cwd=tmp_path_factory.mktemp("cli"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"created   #{ADMIN['id']}" in done.stdout
    return ADMIN


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """Knows both people from the start; Kontur knows only whom its directory holds."""
    claims = [
        {"sub": "admin", "email": ADMIN["email"], "email_verified": True},
        {"sub": "newbie", "email": NEWBIE["email"], "email_verified": True},
    ]
    with run_oidc_provider(tmp_path_factory.mktemp("oidc"), claims) as running:
        yield running


def replica(
    name: str, box: RunningSandbox, database_url: str, provider: OidcProvider, workdir: Path
) -> Iterator[RunningApp]:
    """One dashboard process: its own cache file (synced now), the shared PostgreSQL database."""
    cache = workdir / f"{name}.duckdb"
    settings = Settings(api_url=box.api_url, api_token=box.token, cache_path=cache)
    with Cache(cache) as opened:
        assert run_sync(opened, settings).ok
    env = kontur_env(box, database_url)
    env.update(KONTUR_CACHE_PATH=str(cache), KONTUR_AUTO_SYNC="0")
    with run_signed_in_app(provider, workdir, env) as app:
        yield app


@pytest.fixture(scope="module")
def app_a(
    box: RunningSandbox,
    database_url: str,
    first_admin: dict,
    provider: OidcProvider,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningApp]:
    yield from replica("a", box, database_url, provider, tmp_path_factory.mktemp("replica-a"))


@pytest.fixture(scope="module")
def app_b(
    box: RunningSandbox,
    database_url: str,
    first_admin: dict,
    provider: OidcProvider,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningApp]:
    yield from replica("b", box, database_url, provider, tmp_path_factory.mktemp("replica-b"))


def settle(page: Page) -> None:
    streamlit_page.settle(page, WAIT_MS)


def sign_in(page: Page, app: RunningApp, sub: str) -> None:
    oidc.sign_in(page, app.url, sub, settle_ms=WAIT_MS)


def open_users(page: Page) -> None:
    streamlit_page.go(page, "Пользователи", "Пользователи", timeout_ms=WAIT_MS)


def choose(page: Page, label: str, text: str) -> None:
    streamlit_page.choose(page, label, text, timeout_ms=WAIT_MS, exact=True)


def save_rows(database_url: str, user_id: int) -> list[dict]:
    with Store.open(database_url) as store:
        return [r for r in ops_store.audit_rows(store, users.AUDIT_ACTION) if r["brusnika_id"] == user_id]


def test_first_admin_creates_a_user_on_a_and_blocks_them_on_b(
    browser: Browser,
    box: RunningSandbox,
    database_url: str,
    app_a: RunningApp,
    app_b: RunningApp,
) -> None:
    # The first administrator, known only from the command line, signs in on A and creates a user.
    on_a = browser.new_context().new_page()
    sign_in(on_a, app_a, "admin")
    # An agency for them: found through Kontur (the Agencies page's search), so Kontur knows it.
    agency = next(a for a in box.admin().agencies() if a.get("inn"))
    streamlit_page.go(on_a, "Агентства", "Агентства", timeout_ms=WAIT_MS)
    on_a.get_by_label("ИНН или название").fill(agency["inn"])
    on_a.get_by_role("button", name="Найти").click()
    expect(on_a.get_by_text(agency["title"]).first).to_be_visible(timeout=WAIT_MS)
    open_users(on_a)
    choose(on_a, "Кого изменить", "Новый пользователь")
    on_a.get_by_label("Фамилия", exact=True).fill(NEWBIE["last"])
    on_a.get_by_label("Имя", exact=True).fill(NEWBIE["first"])
    on_a.get_by_label("Почта (для входа)").fill(NEWBIE["email"])
    on_a.get_by_label("Телефон", exact=True).fill(NEWBIE["phone"])
    choose(on_a, "Роль", "Агент")
    choose(on_a, "Агентство", agency["title"])
    on_a.get_by_label("Осталось броней").fill("2")
    on_a.get_by_role("button", name="Создать и передать в Брусника").click()
    expect(on_a.get_by_test_id("stAlertContentSuccess")).to_contain_text(
        "сохранён и передан", timeout=WAIT_MS
    )
    with Store.open(database_url) as store, store.read() as tx:
        created = tx.execute(
            sa.select(
                schema.users.c.id,
                schema.users.c.role,
                schema.users.c.status,
                schema.users.c.agency_id,
                schema.users.c.remaining_user_creation_limit,
            ).where(sa.func.lower(schema.users.c.email) == NEWBIE["email"])
        ).one()
    assert (created.role, created.status, created.agency_id) == ("AGENT", "active", agency["id"])
    assert created.remaining_user_creation_limit == 2
    assert any(u["id"] == created.id for u in box.admin().users())  # pushed to Brusnika

    # The new user signs in on A: known, let in.
    newbie = browser.new_context().new_page()
    sign_in(newbie, app_a, "newbie")
    expect(newbie.get_by_text(NEWBIE["email"])).to_be_visible(timeout=WAIT_MS)

    # They register a client and book a premise for them, on A.
    streamlit_page.go(newbie, "Клиенты", "Клиенты", timeout_ms=WAIT_MS)
    newbie.get_by_role("tab", name="Новый клиент").click()
    newbie.get_by_label("ФИО (фамилия, имя, отчество)").fill(CLIENT)
    newbie.get_by_label("Телефон", exact=True).fill("+7 912 000-00-08")
    newbie.get_by_role("button", name="Завести клиента").click()
    expect(newbie.get_by_test_id("stAlertContentSuccess").first).to_be_visible(timeout=WAIT_MS)
    streamlit_page.go(newbie, "Бронирования", "Бронирования", timeout_ms=WAIT_MS)
    for label in ("Город", "Проект", "Здание", "Помещение"):
        streamlit_page.pick_first(newbie, label, timeout_ms=WAIT_MS)
    choose(newbie, "Клиент", CLIENT)
    newbie.get_by_role("button", name="Забронировать").click()
    success = newbie.get_by_test_id("stAlertContentSuccess").filter(has_text="создана")
    expect(success).to_be_visible(timeout=WAIT_MS)
    booking = int(re.search(r"Бронь №(\d+)", success.inner_text()).group(1))  # type: ignore[union-attr]

    # On B (its own cache, the same database), the administrator sees that booking in B's list...
    on_b = browser.new_context().new_page()
    sign_in(on_b, app_b, "admin")
    streamlit_page.go(on_b, "Бронирования", "Бронирования", timeout_ms=WAIT_MS)
    expect(on_b.get_by_text(f"№{booking} ", exact=False).first).to_be_visible(timeout=WAIT_MS)
    expect(on_b.get_by_text(CLIENT).first).to_be_visible()
    # ... finds the user A created and blocks them.
    open_users(on_b)
    choose(on_b, "Кого изменить", f"{NEWBIE['last']} {NEWBIE['first']} (№{created.id})")
    choose(on_b, "Статус", "Заблокирован")
    on_b.get_by_role("button", name="Сохранить и передать в Брусника").click()
    expect(on_b.get_by_test_id("stAlertContentSuccess")).to_contain_text(
        "сохранён и передан", timeout=WAIT_MS
    )

    # A refuses them at their next click.
    newbie.get_by_test_id("stSidebarNavLink").first.click()
    expect(newbie.get_by_text(f"Пользователь {NEWBIE['email']} заблокирован")).to_be_visible(timeout=WAIT_MS)
    expect(newbie.get_by_test_id("stSidebarNavLink")).to_have_count(0)

    # Both saves, made on two replicas, are rows of the one audit table, each naming the administrator.
    rows = save_rows(database_url, created.id)
    assert [r["outcome"] for r in rows] == ["success", "success"]
    assert {r["actor_id"] for r in rows} == {ADMIN["id"]}
    with Store.open(database_url) as store:
        booked = [r for r in ops_store.audit_rows(store, "create_booking") if r["brusnika_id"] == booking]
    assert [(r["actor_id"], r["outcome"]) for r in booked] == [(created.id, "success")]
    for context in (on_a, on_b, newbie):
        context.context.close()
