"""Each agency sees only its own deals, in real Chromium behind real sign-in: a real OpenID Connect
provider (`oidc-provider-mock`), the real `app.py` with an `[auth]` secrets file, a cache the real sync
filled, the users directory loaded into the operational store beside it.

Signed in as an AGENT of agency A, the deals page's numbers are agency A's and the rows behind it (the
CSV downloads of the stale leads and of the agent ranking, and the agent choice) hold no lead and no
agent of agency B; signed in as a MANAGER, the page counts every lead."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from kontur.sandbox.server import RunningSandbox
from kontur.store import schema
from kontur.store.db import Store
from tests.e2e.conftest import app_env
from tests.e2e.conftest_auth import (
    OidcProvider,
    run_signed_in_app,
)
from tests.pages.helpers import NBSP, fill_cache, store_url, user_with
from tests.support import oidc, ops_store, streamlit_page

pytestmark = pytest.mark.browser

WAIT_MS = 90_000


@pytest.fixture(scope="module")
def people(sandbox: RunningSandbox) -> dict[str, dict]:
    """An agent of agency A whose agency has leads, an agent of another agency B, a manager."""
    leads = sandbox.admin().records("leads")
    busy = {lead["agent_id"] for lead in leads}
    agents = [
        u for u in sorted(sandbox.admin().users(), key=lambda u: u["id"])
        if u["role"] == "AGENT" and u["status"] == "active" and u["agency_id"] is not None and u["id"] in busy
    ]  # fmt: skip
    a = agents[0]
    b = next(u for u in agents if u["agency_id"] != a["agency_id"])
    return {"agent": a, "other": b, "manager": user_with(sandbox, "MANAGER")}


@pytest.fixture(scope="module")
def cache_file(sandbox: RunningSandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scope-signin") / "kontur.duckdb"
    fill_cache(sandbox, path)
    return path


def sign_in(page: Page, url: str, sub: str) -> None:
    oidc.sign_in(page, url, sub)


def sign_out(page: Page) -> None:
    oidc.sign_out(page, WAIT_MS)


def open_deals(page: Page) -> None:
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Сделки").click()
    expect(page.locator(".js-plotly-plot .funnellayer .point")).to_have_count(8, timeout=WAIT_MS)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=WAIT_MS)


def shown_total(page: Page) -> int:
    value = page.get_by_test_id("stMetric").filter(has_text="Сделок").get_by_test_id("stMetricValue")
    return int(value.inner_text().replace(NBSP, "").replace(" ", ""))


def section(page: Page, name: str) -> None:
    """Show the section `name` below the funnel (one at a time) and wait for its run."""
    page.get_by_test_id("stButtonGroup").get_by_text(name, exact=True).click()
    expect(page.get_by_role("heading", name=name)).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=WAIT_MS)


def download(page: Page, index: int, tmp: Path) -> list[dict[str, str]]:
    """The rows of the page's `index`-th «Скачать CSV» (the shown section's)."""
    got = streamlit_page.download(
        page, page.get_by_role("button", name="Скачать CSV").nth(index), timeout_ms=WAIT_MS
    )
    target = tmp / f"deals-{index}.csv"
    got.save_as(target)
    return list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8-sig"))))


def test_an_agent_sees_only_their_agency_and_a_manager_everything(
    page: Page,
    sandbox: RunningSandbox,
    people: dict[str, dict],
    cache_file: Path,
    provider: OidcProvider,
    tmp_path: Path,
) -> None:
    users = sandbox.admin().users()
    agency_of_name = {f"{u['lastName']} {u['firstName']}": u["agency_id"] for u in users}
    leads = sandbox.admin().records("leads")
    agency_a = people["agent"]["agency_id"]
    mine = {u["id"] for u in users if u["agency_id"] == agency_a}
    agency_of_lead = {lead["id"]: lead["agent_id"] in mine for lead in leads}
    page.set_viewport_size({"width": 1440, "height": 3400})
    env = {k: v for k, v in app_env(sandbox, cache_file).items() if k != "KONTUR_INSECURE_DEV_PICKER"}
    with run_signed_in_app(provider, tmp_path, env) as app:
        sign_in(page, app.url, "agent")
        open_deals(page)
        expect(page.get_by_text("Показаны сделки агентов вашего агентства.")).to_be_visible()
        assert shown_total(page) == sum(1 for lead in leads if lead["agent_id"] in mine)
        stale = download(page, 0, tmp_path)
        assert stale
        assert all(agency_of_lead[int(row["Сделка"].lstrip("№"))] for row in stale)
        section(page, "Рейтинг агентов")
        ranking = download(page, 0, tmp_path)
        assert ranking
        assert {agency_of_name[row["Агент"]] for row in ranking} == {agency_a}
        other = people["other"]
        assert f"{other['lastName']} {other['firstName']}" not in {row["Агент"] for row in ranking}
        # the agent choice offers agency A's agents only
        page.get_by_role("combobox", name="Агент", exact=True).click()
        options = page.get_by_role("option")
        expect(options.first).to_be_visible(timeout=WAIT_MS)
        # «Фамилия Имя (№id)»; Streamlit adds a «Select all» entry of its own
        offered = {t.rsplit(" (", 1)[0].strip() for t in options.all_inner_texts() if t.strip().endswith(")")}
        assert offered
        assert {agency_of_name[name] for name in offered} == {agency_a}
        page.keyboard.press("Escape")
        sign_out(page)

        sign_in(page, app.url, "manager")
        open_deals(page)
        expect(page.get_by_text("Показаны сделки агентов вашего агентства.")).to_have_count(0)
        assert shown_total(page) == len(leads)
        sign_out(page)

    # the directory the scope was read from (the store beside the cache) held exactly A's agents
    with Store.open(store_url(cache_file)) as store:
        held = ops_store.count(store, schema.users, schema.users.c.agency_id == agency_a)
    assert held == len(mine)
