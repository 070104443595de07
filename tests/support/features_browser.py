"""Browser helpers of issue 14's Chromium tests: the real `app.py` (development picker on) as a real
server on a filled cache, and the few Streamlit interactions they need."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from playwright.sync_api import Locator, Page, expect

from kontur.processes import free_port, stop_process_group
from kontur.sandbox.server import RunningSandbox
from tests.support import ops_store
from tests.support.features import REPO, fill
from tests.support.streamlit_page import find_person

WAIT_MS = 90_000


@contextmanager
def features_app(
    sandbox: RunningSandbox, workdir: Path, log_path: Path, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[str, Path, str]]:
    """A cache filled from `sandbox` (users directory seeded), a store file, and app.py serving them:
    yields (url, cache path, store url)."""
    cache_path = fill(sandbox, workdir / "kontur.duckdb")
    store_url = f"sqlite:///{workdir / 'ops.sqlite'}"
    # the directory lives in the operational store since issue 13 (the cache's users table is gone)
    ops_store.seed_url(store_url, sandbox.admin().users())
    env = {
        **os.environ,
        "BRUSNIKA_API_URL": sandbox.api_url,
        "BRUSNIKA_API_TOKEN": sandbox.token,
        "KONTUR_CACHE_PATH": str(cache_path),
        "KONTUR_DATABASE_URL": store_url,
        "KONTUR_AUTO_SYNC": "0",
        # no sign-in against a configured API: the development picker says who acts (`act_as`)
        "KONTUR_INSECURE_DEV_PICKER": "1",
        **(extra_env or {}),
    }
    port = free_port()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "streamlit", "run", "app.py",
                "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port),
                "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
            ],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}; see {log_path}")
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not become healthy; see {log_path}")
            time.sleep(0.2)
        yield url, cache_path, store_url
    finally:
        stop_process_group(proc)


def idle(page: Page) -> None:
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=WAIT_MS)


def selectbox(page: Page, label: str, *, scope: Locator | None = None) -> Locator:
    root = scope or page
    return root.get_by_test_id("stSelectbox").filter(has=page.get_by_text(label, exact=True))


def choose(page: Page, label: str, text: str, *, scope: Locator | None = None) -> None:
    selectbox(page, label, scope=scope).click()
    page.keyboard.type(text)
    page.get_by_role("option").filter(has_text=text).first.click()
    idle(page)


def act_as(page: Page, user: dict, *, timeout_ms: float = WAIT_MS) -> None:
    """Pick `user` (a sandbox directory entry) in the development picker and wait until the run that
    read them has ended: the box alone shows a pick before any run, and a form filled before that run
    ends would be redrawn under the typing."""
    sidebar = page.get_by_test_id("stSidebar")
    name = f"{user['lastName']} {user['firstName']}"
    find_person(page, "Найти пользователя", "Действую от имени", name, timeout_ms=timeout_ms, root=sidebar)
    expect(sidebar.get_by_text(f"Сейчас: №{user['id']} ·")).to_be_visible(timeout=timeout_ms)
    expect(sidebar.get_by_role("combobox", name="Действую от имени")).to_have_value(
        f"{user['lastName']} {user['firstName']} ({user['role']})"
    )
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=timeout_ms)


def open_page(page: Page, url: str, path: str, heading: str) -> None:
    """`url/path` as a person opens it. Until some run of a fresh server has gone through `app.py`, a
    page's own URL is served by itself and refuses (`require_app_run`): the main page comes first."""
    page.goto(url)
    expect(page.get_by_test_id("stSidebarNavLink").filter(has_text="Наличие")).to_be_visible(timeout=WAIT_MS)
    idle(page)
    page.goto(f"{url}/{path}")
    expect(page.get_by_role("heading", name=heading).first).to_be_visible(timeout=WAIT_MS)
    idle(page)


def sync_now(page: Page, url: str) -> None:
    """A sync through the app, as a manager starts one: «Синхронизировать» on the sync page."""
    open_page(page, url, "sync_health", "Синхронизация")
    page.get_by_role("button", name="Синхронизировать").click()
    expect(page.get_by_test_id("stMain")).to_contain_text("Синхронизация завершена", timeout=WAIT_MS)
    idle(page)
