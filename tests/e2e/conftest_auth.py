"""Real servers for the sign-in tests: an OpenID Connect provider (PyPI `oidc-provider-mock`) and
Streamlit apps started with an `[auth]` secrets file of their own.

Imported by the auth test modules (not a conftest.py: the pages engineer owns tests/e2e/conftest.py).
Everything listens on 127.0.0.1 and is stopped by process group on teardown.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from kontur.processes import free_port, stop_process_group
from tests.support.processes import wait_http

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 120.0  # generous: two shared cores, other engineers' suites running


@dataclass(frozen=True)
class OidcProvider:
    issuer: str  # http://127.0.0.1:PORT

    @property
    def metadata_url(self) -> str:
        return self.issuer + "/.well-known/openid-configuration"

    def set_user(self, sub: str, claims: Mapping[str, Any]) -> None:
        """Register (or replace) a person at the provider with these claims."""
        httpx.put(f"{self.issuer}/users/{sub}", json=dict(claims), timeout=10).raise_for_status()


@contextmanager
def run_oidc_provider(tmp: Path, users: Sequence[Mapping[str, Any]] = ()) -> Iterator[OidcProvider]:
    """`python -m oidc_provider_mock` on a free port; `users` are predefined (one click each on the
    provider's authorize page), each a claims dict with `sub`."""
    port = free_port()
    log = tmp / f"oidc-{port}.log"
    args = [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port)]
    for claims in users:
        args += ["--user-claims", json.dumps(dict(claims))]
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    provider = OidcProvider(issuer=f"http://127.0.0.1:{port}")
    try:
        wait_http(provider.metadata_url, proc, timeout=STARTUP_TIMEOUT, log=log)
        yield provider
    finally:
        stop_process_group(proc)


def auth_secrets_toml(
    *, app_port: int, provider: OidcProvider, extra: str = "", cookie_secret: str | None = None
) -> str:
    """A secrets.toml whose `[auth]` points the app at the test provider."""
    secret = cookie_secret or os.urandom(24).hex()
    return (
        f"{extra}\n"
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"\n'
        f'cookie_secret = "{secret}"\n'
        'client_id = "kontur-dashboard"\n'
        f'client_secret = "{os.urandom(12).hex()}"\n'
        f'server_metadata_url = "{provider.metadata_url}"\n'
    )


@dataclass(frozen=True)
class RunningApp:
    url: str  # http://127.0.0.1:PORT
    log: Path


@contextmanager
def run_streamlit(
    script: Path,
    *,
    port: int,
    secrets_toml: str | None,
    workdir: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = STARTUP_TIMEOUT,
    in_repo: bool = False,
) -> Iterator[RunningApp]:
    """`streamlit run script` with its secrets read from `workdir/.streamlit/secrets.toml` only
    (`--secrets.files`), so the repository's own secrets, if any, never leak into a test.
    `in_repo`: run from the repository, with its `.streamlit/config.toml` and no address given on
    the command line (what `make dashboard` does); otherwise from `workdir`, bound to 127.0.0.1."""
    secrets_path = workdir / ".streamlit" / "secrets.toml"
    secrets_path.parent.mkdir(parents=True, exist_ok=True)
    secrets_path.write_text(secrets_toml or "", encoding="utf-8")
    log = workdir / f"streamlit-{port}.log"
    args = [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--secrets.files", str(secrets_path),
    ]  # fmt: skip
    if not in_repo:
        args += ["--server.address", "127.0.0.1"]
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            args,
            cwd=REPO if in_repo else workdir,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    app = RunningApp(url=f"http://127.0.0.1:{port}", log=log)
    try:
        wait_http(app.url + "/_stcore/health", proc, timeout=timeout, log=log)
        yield app
    finally:
        stop_process_group(proc)


@contextmanager
def run_signed_in_app(provider: OidcProvider, workdir: Path, env: Mapping[str, str]) -> Iterator[RunningApp]:
    """The dashboard (`app.py`) on a free port, signing in through `provider`, with `env` (the API,
    the cache file, ...) on top of the test process's environment."""
    port = free_port()
    with run_streamlit(
        REPO / "app.py",
        port=port,
        secrets_toml=auth_secrets_toml(app_port=port, provider=provider),
        workdir=workdir,
        env=env,
    ) as app:
        yield app


def dashboard_env(sandbox: Any, cache: Path, *, auto_sync: bool = False) -> dict[str, str]:
    """The app against `sandbox`'s API on `cache` (no first sync of its own unless `auto_sync`)."""
    env = {
        "BRUSNIKA_API_URL": sandbox.api_url,
        "BRUSNIKA_API_TOKEN": sandbox.token,
        "KONTUR_CACHE_PATH": str(cache),
    }
    if not auto_sync:
        env["KONTUR_AUTO_SYNC"] = "0"
    return env


def synced_cache(sandbox: Any, path: Path) -> Path:
    """A cache file filled from `sandbox` by the real REST sync, and the sandbox's users seeded into
    the operational store beside it (what demo mode does), both closed for an app process to open."""
    from kontur.cache import Cache
    from kontur.config import Settings
    from kontur.sync import run_sync
    from tests.support import ops_store

    settings = Settings(api_url=sandbox.api_url, api_token=sandbox.token, cache_path=path)
    with Cache(path) as cache:
        result = run_sync(cache, settings)
        assert result.ok, result.error
    with sandbox.admin() as admin:  # the directory lives in the store the app opens beside the cache
        ops_store.seed_url(settings.ops_database_url(), admin.users())
    return path


@contextmanager
def form_context(sandbox: Any, path: Path, who: Mapping[str, Any]) -> Iterator[Any]:
    """A `FormContext` acting as `who` (a directory row) on the cache at `path`, the operational store
    beside it and the sandbox's API, for fixtures that make records through the real form functions
    before an app process opens the same files."""
    import datetime as dt

    from kontur.auth.actor import Actor
    from kontur.cache import Cache
    from kontur.client import BrusnikaClient
    from kontur.config import Settings
    from kontur.forms.context import FormContext
    from kontur.store.db import Store

    with (
        Cache(path) as cache,
        Store.open(Settings(cache_path=path).ops_database_url()) as store,
        BrusnikaClient(base_url=sandbox.api_url, token=sandbox.token) as api,
    ):
        cur = cache.cursor()
        try:
            yield FormContext(
                client=api,
                conn=cur,
                store=store,
                actor=Actor.from_row(dict(who)),
                clock=dt.datetime.now,
                write_lock=cache.write_lock,
            )
        finally:
            cur.close()


@pytest.fixture(scope="session")
def auth_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("auth")
