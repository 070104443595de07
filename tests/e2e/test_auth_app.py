"""The dashboard itself behind sign-in, in real Chromium: a real OIDC provider, a real sandbox, the
real `app.py` with an `[auth]` secrets file, a real cache file.

One story, in order: a blocked user is refused at sign-in; an AGENT of another agency does not
see the booking at all; a colleague of the same agency sees it with the reason they may not cancel
it, no button, and the sandbox still holds it; a MANAGER signs in (no demo picker), books for the
owner agent, and signs out; the audit rows (in the operational store beside the cache) name who
acted and, for the manager's booking, the agent it was made for.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from kontur.auth.actor import Actor
from kontur.cache import Cache
from kontur.client import BrusnikaClient
from kontur.config import Settings
from kontur.forms import clients, users
from kontur.forms.context import FormContext
from kontur.sandbox.server import RunningSandbox
from kontur.store import schema
from kontur.store.db import Store
from kontur.sync import run_sync
from tests.e2e.conftest_auth import (
    OidcProvider,
    dashboard_env,
    run_signed_in_app,
)
from tests.support import oidc, ops_store, streamlit_page
from tests.support.form_records import book_through_forms
from tests.support.sandbox_records import free_premise, premise_booked
from tests.support.sandboxes import SandboxFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SEED = 515151


@pytest.fixture(scope="module")
def box(module_sandboxes: SandboxFactory) -> RunningSandbox:
    return module_sandboxes(scale=0.02, seed=SEED)


def _active(box: RunningSandbox, role: str, **where: object) -> dict:
    for row in box.admin().users():
        usable = row["status"] == "active" and row["remaining_user_creation_limit"] > 0
        if row["role"] == role and usable and all(row.get(k) == v for k, v in where.items()):
            return row
    pytest.fail(f"no active {role} with {where}")


@pytest.fixture(scope="module")
def people(box: RunningSandbox) -> dict[str, dict]:
    directory = box.admin().users()
    agents = [u for u in directory if u["role"] == "AGENT" and u["status"] == "active"]
    owner = next(
        u
        for u in agents
        if u["remaining_user_creation_limit"] > 1  # one booking in the fixture, one by the manager for them
        and any(c["agency_id"] == u["agency_id"] and c["id"] != u["id"] for c in agents)
    )
    colleague = next(u for u in agents if u["agency_id"] == owner["agency_id"] and u["id"] != owner["id"])
    outsider = next(u for u in agents if u["agency_id"] != owner["agency_id"])
    blocked = next(u for u in directory if u["status"] == "blocked")
    return {
        "owner": owner,
        "colleague": colleague,
        "outsider": outsider,
        "manager": _active(box, "MANAGER"),
        "blocked": blocked,
    }


@pytest.fixture(scope="module")
def cache_file(
    box: RunningSandbox, people: dict[str, dict], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Synced from the sandbox, the directory loaded, and one booking made by the owner agent (through
    the real form functions) for the outsider to find."""
    path = tmp_path_factory.mktemp("auth-app") / "kontur.duckdb"
    settings = Settings(api_url=box.api_url, api_token=box.token, cache_path=path)
    with (
        Cache(path) as cache,
        Store.open(settings.ops_database_url()) as store,
        BrusnikaClient(base_url=box.api_url, token=box.token) as client,
    ):
        assert run_sync(cache, client).ok
        users.seed(store, box.admin().users())
        cur = cache.cursor()
        ctx = FormContext(
            client=client,
            conn=cur,
            store=store,
            actor=Actor.from_row(people["owner"]),
            clock=dt.datetime.now,
            write_lock=cache.write_lock,
        )
        made = clients.create(
            ctx, clients.ClientInput(fullname="Белова Вера Петровна", phone_number="+79995550011")
        )
        assert made.ok, made.message
        assert made.result is not None
        premise = free_premise(box)
        booked = book_through_forms(ctx, premise, made.result.id, days_ahead=3, time="10:00")
        cur.close()
    people["owner"]["booking"] = booked.id
    people["owner"]["premise"] = premise["id"]
    return path


def sign_in(page: Page, url: str, sub: str) -> None:
    oidc.sign_in(page, url, sub)


def sign_out(page: Page) -> None:
    oidc.sign_out(page)


def pick_option(page: Page, label: str, text: str) -> None:
    """Open the select box `label`, type to narrow its options, and click the one containing `text`."""
    box = page.get_by_test_id("stMain").get_by_test_id("stSelectbox").filter(has_text=label)
    box.click()
    page.keyboard.type(text)
    page.get_by_role("option").filter(has_text=text).first.click()
    expect(box.get_by_role("combobox")).to_have_value(re.compile(re.escape(text)))


def test_sign_in_roles_and_audit(
    page: Page,
    box: RunningSandbox,
    people: dict[str, dict],
    cache_file: Path,
    provider: OidcProvider,
    tmp_path: Path,
) -> None:
    env = dashboard_env(box, cache_file, auto_sync=True)
    owner, manager = people["owner"], people["manager"]
    with run_signed_in_app(provider, tmp_path, env) as app:
        # Before sign-in: the sign-in screen and nothing else.
        page.goto(app.url)
        expect(page.get_by_role("button", name="Войти")).to_be_visible()
        expect(page.get_by_test_id("stSidebarNavLink")).to_have_count(0)
        # A page's own address does not get past the gate either.
        page.goto(app.url + "/bookings")
        expect(page.get_by_role("button", name="Войти")).to_be_visible()
        expect(page.get_by_role("button", name="Забронировать")).to_have_count(0)
        expect(page.get_by_test_id("stSidebarNavLink")).to_have_count(0)

        # A blocked user is refused at sign-in, and sees nothing of the dashboard.
        sign_in(page, app.url, "blocked")
        expect(page.get_by_text("Вход не выполнен")).to_be_visible()
        expect(page.get_by_text(f"Пользователь {people['blocked']['email']} заблокирован")).to_be_visible()
        expect(page.get_by_test_id("stSidebarNavLink")).to_have_count(0)
        page.get_by_role("button", name="Выйти").click()
        page.wait_for_url(re.compile(r"/oauth2/end_session"))
        page.get_by_role("button", name="End session").click()
        expect(page.get_by_role("button", name="Войти")).to_be_visible()

        # An agent of another agency: agent pages only, and the booking is not theirs to see at all.
        sign_in(page, app.url, "outsider")
        nav = page.get_by_test_id("stSidebarNavLink")
        expect(nav.filter(has_text="Бронирования")).to_have_count(1)
        expect(nav.filter(has_text="Пользователи")).to_have_count(0)
        expect(nav.filter(has_text="Синхронизация")).to_have_count(0)
        nav.filter(has_text="Бронирования").click()
        expect(page.get_by_text("Пока нет броней.")).to_be_visible()
        expect(page.get_by_text(f"№{owner['booking']}", exact=False)).to_have_count(0)
        expect(page.get_by_text("Действую от имени")).to_have_count(0)  # no demo picker
        sign_out(page)

        # A colleague of the same agency sees it, with the reason they may not cancel it, no button.
        sign_in(page, app.url, "colleague")
        page.get_by_test_id("stSidebarNavLink").filter(has_text="Бронирования").click()
        expect(page.get_by_text(f"№{owner['booking']}", exact=False).first).to_be_visible()
        expect(page.get_by_text("Запись оформлена другим агентом вашего агентства").first).to_be_visible()
        expect(page.get_by_role("button", name="Отменить")).to_have_count(0)
        assert premise_booked(box, owner["premise"])
        sign_out(page)

        # A manager signs in and books a premise for the owner agent (acting for them), for the
        # owner's client: the agent's clients are the ones offered once the agent is chosen.
        sign_in(page, app.url, "manager")
        page.get_by_test_id("stSidebarNavLink").filter(has_text="Бронирования").click()
        expect(page.get_by_text(manager["email"])).to_be_visible()
        expect(page.get_by_text("Действую от имени")).to_have_count(0)
        # The manager may cancel anybody's booking: the button is there.
        expect(page.get_by_role("button", name="Отменить").first).to_be_visible()
        streamlit_page.find_person(page, "Найти агента", "Для агента", f"№{owner['id']})", timeout_ms=30_000)
        expect(page.get_by_text("Осталось броней у агента")).to_be_visible()
        for label in ("Город", "Проект", "Здание", "Помещение"):
            streamlit_page.pick_first(page, label, timeout_ms=30_000)
        pick_option(page, "Клиент", "Белова Вера Петровна")
        page.get_by_role("button", name="Забронировать").click()
        success = page.get_by_test_id("stAlertContentSuccess").filter(has_text="создана")
        expect(success).to_be_visible(timeout=30_000)
        made_id = int(re.search(r"Бронь №(\d+)", success.inner_text()).group(1))  # type: ignore[union-attr]
        sign_out(page)

    # Every action names who acted; the manager's booking also names the agent it was made for.
    with Store.open(Settings(cache_path=cache_file).ops_database_url()) as store:
        rows = ops_store.audit_rows(store)
        booked = ops_store.row(store, schema.bookings, made_id)
    mine = [r for r in rows if r["action"] == "create_booking" and r["brusnika_id"] == made_id]
    assert len(mine) == 1
    assert manager["email"] in mine[0]["actor"]
    assert f"#{manager['id']}" in mine[0]["actor"]
    assert (mine[0]["actor_id"], mine[0]["on_behalf_of"], mine[0]["outcome"]) == (
        manager["id"],
        owner["id"],
        "success",
    )
    assert booked is not None
    assert booked["agent_id"] == owner["id"]
    assert all(r["actor"] for r in rows)  # no anonymous rows
    with httpx.Client() as http:  # and the agent's refused view changed nothing at Brusnika
        assert http.get(box.root_url + "/health").status_code in (200, 404)
    assert premise_booked(box, owner["premise"])
