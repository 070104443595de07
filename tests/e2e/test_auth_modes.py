"""How the dashboard lets people in, in real Chromium against a real `streamlit run app.py` and a real
sandbox over HTTP:

- against a configured API without `[auth]`: one screen saying what to configure, no navigation, no
  data, and no page reachable by its URL (even as the very first request after a start, when
  Streamlit would otherwise run a `pages/` file without `app.py`);
- the same with `KONTUR_INSECURE_DEV_PICKER=1`: the picker, and a red banner on every page, logged;
- the shipped `.streamlit/config.toml`: loopback only, no Deploy button, no error details.
"""

from __future__ import annotations

import socket
import tomllib
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import Page, expect

from kontur.auth.session import DEV_PICKER_BANNER
from kontur.sandbox.server import RunningSandbox
from tests.e2e.conftest_auth import REPO, RunningApp, free_port, run_streamlit, synced_cache
from tests.support import streamlit_page

pytestmark = pytest.mark.browser

WAIT_MS = 60_000  # generous: two shared cores
FORM_PAGES = ("bookings", "visits", "clients", "agencies", "users", "history")
EVERY_PAGE = ("availability", "chessboard", "leads", *FORM_PAGES, "sync_health")
TITLES = (
    "Сегодня",
    "Подборки",
    "Наличие",
    "Шахматка",
    "Проект",
    "Сделки",
    "Бронирования",
    "Показы",
    "Клиенты",
    "Агентства",
    "Пользователи",
    "История действий",
    "Синхронизация",
)


@pytest.fixture(scope="module")
def cache_file(sandbox: RunningSandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synced_cache(sandbox, tmp_path_factory.mktemp("modes") / "kontur.duckdb")


def project_names(sandbox: RunningSandbox) -> list[str]:
    with sandbox.admin() as admin:
        return [p["name"] for p in admin.records("projects")]


def app_env(sandbox: RunningSandbox, cache: Path, **more: str) -> dict[str, str]:
    return {
        "BRUSNIKA_API_URL": sandbox.api_url,
        "BRUSNIKA_API_TOKEN": sandbox.token,
        "KONTUR_CACHE_PATH": str(cache),
        "KONTUR_AUTO_SYNC": "0",
        **more,
    }


@pytest.fixture(scope="module")
def unconfigured(
    sandbox: RunningSandbox, cache_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningApp]:
    with run_streamlit(
        REPO / "app.py",
        port=free_port(),
        secrets_toml="",  # no [auth]
        workdir=tmp_path_factory.mktemp("unconfigured"),
        env=app_env(sandbox, cache_file),
    ) as app:
        yield app


def settle(page: Page) -> None:
    streamlit_page.settle(page, WAIT_MS)


def test_unconfigured_api_gets_one_screen_and_nothing_else(
    page: Page, unconfigured: RunningApp, sandbox: RunningSandbox, cache_file: Path
) -> None:
    names = project_names(sandbox)
    # The very first request after the start is a page's own address (Streamlit would run that
    # pages/ file without app.py): nothing of the page, no data.
    page.goto(unconfigured.url + "/users")
    expect(page.get_by_text("Откройте главную страницу дашборда")).to_be_visible(timeout=WAIT_MS)
    settle(page)
    assert "Пользователи" not in page.get_by_test_id("stMain").inner_text()
    assert not any(name in page.inner_text("body") for name in names)

    # The app's own address: the configuration screen, no navigation, no data.
    page.goto(unconfigured.url)
    expect(page.get_by_text("нужна настройка входа")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("[auth]").first).to_be_visible()
    settle(page)
    expect(page.get_by_test_id("stSidebarNavLink")).to_have_count(0)
    expect(page.get_by_test_id("stSidebar")).to_have_count(0)
    body = page.inner_text("body")
    assert not any(name in body for name in names)
    assert "Действую от имени" not in body

    # Every page's address leads to the same screen.
    for name in EVERY_PAGE:
        page.goto(f"{unconfigured.url}/{name}")
        expect(page.get_by_text("нужна настройка входа")).to_be_visible(timeout=WAIT_MS)
        settle(page)
        expect(page.get_by_test_id("stSidebarNavLink")).to_have_count(0)
        body = page.inner_text("body")
        assert not any(project in body for project in names), name
    # Nothing was even opened on its behalf: the cache file is free for another writer.
    con = duckdb.connect(str(cache_file))
    con.close()


@pytest.fixture(scope="module")
def dev_picker(
    sandbox: RunningSandbox, cache_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningApp]:
    with run_streamlit(
        REPO / "app.py",
        port=free_port(),
        secrets_toml="",
        workdir=tmp_path_factory.mktemp("dev-picker"),
        env=app_env(sandbox, cache_file, KONTUR_INSECURE_DEV_PICKER="1"),
    ) as app:
        yield app


def test_dev_switch_paints_a_red_banner_on_every_page(page: Page, dev_picker: RunningApp) -> None:
    page.goto(dev_picker.url)
    nav = page.get_by_test_id("stSidebarNavLink")
    # app.py's navigation (titles in Russian), not Streamlit's file-name listing of a first load.
    expect(nav.filter(has_text="Наличие")).to_have_count(1, timeout=WAIT_MS)
    expect(nav).to_have_count(len(TITLES))
    settle(page)
    banner = page.get_by_test_id("stAlertContentError").filter(has_text="Небезопасный режим разработки")
    for title in TITLES:
        nav.filter(has_text=title).first.click()
        settle(page)
        expect(banner).to_have_count(1, timeout=WAIT_MS)
        expect(banner).to_contain_text("KONTUR_INSECURE_DEV_PICKER=1")
        expect(page.get_by_test_id("stSidebar").get_by_text("Действую от имени", exact=True)).to_have_count(1)
    assert DEV_PICKER_BANNER.startswith("Небезопасный режим разработки")
    log = dev_picker.log.read_text(errors="replace")
    assert log.count("KONTUR_INSECURE_DEV_PICKER is on") == 1  # logged at start, not per page


def test_shipped_streamlit_config() -> None:
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["address"] == "127.0.0.1"
    assert config["client"]["showErrorDetails"] == "none"
    assert config["client"]["toolbarMode"] == "viewer"
    assert config["client"]["disableDataExport"] is True
    assert config["browser"]["gatherUsageStats"] is False
    assert config["runner"]["postScriptGC"] is False  # ~90 ms per run at scale 10, fragment runs too


def outside_address() -> str | None:
    """This machine's address on its network (not loopback), if it has one."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))  # no packet is sent: this only picks the outgoing interface
        address = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") else address


def test_run_from_the_repository_listens_on_loopback_only_without_deploy_button(
    page: Page, sandbox: RunningSandbox, cache_file: Path, tmp_path: Path
) -> None:
    port = free_port()
    with run_streamlit(
        REPO / "app.py",
        port=port,
        secrets_toml="",
        workdir=tmp_path,
        env=app_env(sandbox, cache_file, KONTUR_INSECURE_DEV_PICKER="1"),
        in_repo=True,  # the repository's config.toml, no --server.address
    ) as app:
        address = outside_address()
        assert address is not None, "this machine has no non-loopback address to check against"
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((address, port), timeout=5).close()
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        page.goto(app.url)
        expect(page.get_by_test_id("stSidebarNavLink").first).to_be_visible(timeout=WAIT_MS)
        settle(page)
        expect(page.get_by_test_id("stAppDeployButton")).to_have_count(0)
        expect(page.get_by_role("button", name="Deploy")).to_have_count(0)
