"""The dashboard as a real server for browser tests: `streamlit run app.py` on a free port, against
the session sandbox and a cache filled by the real sync. Other page owners reuse `app_server`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kontur.processes import free_port, stop_process_group
from kontur.sandbox.server import RunningSandbox
from tests.conftest import TEST_SCALE, TEST_SEED
from tests.e2e.conftest_auth import OidcProvider, run_oidc_provider
from tests.support import oidc
from tests.support.processes import wait_http
from tests.support.sandboxes import SandboxFactory

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def sandbox(session_sandboxes: SandboxFactory) -> RunningSandbox:
    """The browser suites' sandbox: the generated world plus the contract's edge cases
    (`--edge-cases`), so every page the tests open meets them."""
    return session_sandboxes(scale=TEST_SCALE, seed=TEST_SEED, edge_cases=True)


@pytest.fixture(scope="module")
def provider(people: dict[str, dict], tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """The real OIDC provider, knowing the module's `people` (a module fixture: name -> directory row)
    by their e-mails. Modules whose provider knows other people define their own `provider`."""
    with run_oidc_provider(tmp_path_factory.mktemp("oidc"), oidc.claims_for(people)) as running:
        yield running


@dataclass(frozen=True)
class AppServer:
    url: str
    cache_path: Path


def start_app(
    env_overrides: dict[str, str], log_path: Path, timeout: float = 90
) -> tuple[subprocess.Popen, str]:
    """Start streamlit in its own process group and wait until `/_stcore/health` answers."""
    port = free_port()
    env = {**os.environ, **env_overrides}
    log = log_path.open("wb")
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
        wait_http(f"{url}/_stcore/health", proc, timeout=timeout, log=log_path)
    except BaseException:
        stop_app(proc)
        raise
    return proc, url


def stop_app(proc: subprocess.Popen) -> None:
    """Kill the whole process group (streamlit and anything it started)."""
    stop_process_group(proc)


def app_env(sandbox: RunningSandbox, cache_path: Path) -> dict[str, str]:
    """The app against `sandbox`'s API on `cache_path`, no sign-in: the «Действую от имени» picker
    (a development switch outside demo mode) decides who reads; no first sync of its own."""
    return {
        "BRUSNIKA_API_URL": sandbox.api_url,
        "BRUSNIKA_API_TOKEN": sandbox.token,
        "KONTUR_CACHE_PATH": str(cache_path),
        "KONTUR_AUTO_SYNC": "0",
        "KONTUR_INSECURE_DEV_PICKER": "1",
    }


@pytest.fixture(scope="session")
def app_cache(sandbox: RunningSandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache file filled from the session sandbox by the real REST sync, then closed (the app
    server opens it read-write itself)."""
    from tests.pages.helpers import fill_cache

    path = tmp_path_factory.mktemp("e2e-cache") / "kontur.duckdb"
    fill_cache(sandbox, path)
    return path


@pytest.fixture(scope="session")
def app_server(
    sandbox: RunningSandbox, app_cache: Path, artifacts_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppServer]:
    proc, url = start_app(app_env(sandbox, app_cache), artifacts_dir / "streamlit-e2e.log")
    try:
        yield AppServer(url=url, cache_path=app_cache)
    finally:
        stop_app(proc)
