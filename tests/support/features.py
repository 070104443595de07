"""What the tests of issue 14's pages share: a sandbox with the edge-case records, a cache filled from
it by the real sync, an operational store file, and the environment that points the app at them."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kontur.cache import Cache
from kontur.client import BrusnikaClient
from kontur.config import Settings
from kontur.models import Client
from kontur.sandbox.server import RunningSandbox
from kontur.store import clients as store_clients
from kontur.store.db import Store
from kontur.sync import run_sync

REPO = Path(__file__).resolve().parents[2]
SEED = 20261204


def settings_for(sandbox: RunningSandbox, cache_path: Path) -> Settings:
    return Settings(api_url=sandbox.api_url, api_token=sandbox.token, cache_path=cache_path)


def fill(sandbox: RunningSandbox, path: Path) -> Path:
    """A cache file at `path` filled by the real REST sync (incremental when it was filled before)."""
    with Cache(path) as cache:
        result = run_sync(cache, settings_for(sandbox, path))
    assert result.ok, result.error
    return path


def point_app_at(
    monkeypatch: pytest.MonkeyPatch, sandbox: RunningSandbox, cache_path: Path, store_url: str
) -> None:
    monkeypatch.setenv("BRUSNIKA_API_URL", sandbox.api_url)
    monkeypatch.setenv("BRUSNIKA_API_TOKEN", sandbox.token)
    monkeypatch.setenv("KONTUR_CACHE_PATH", str(cache_path))
    monkeypatch.setenv("KONTUR_DATABASE_URL", store_url)
    monkeypatch.setenv("KONTUR_AUTO_SYNC", "0")
    # No sign-in against a configured API: the development picker decides who acts (the person under
    # `ACTOR_STATE_KEY`); without it the app shows only its configuration screen.
    monkeypatch.setenv("KONTUR_INSECURE_DEV_PICKER", "1")


def gate() -> None:
    """What `app.py` does before any page: the access gate, which makes the picked person (the
    session's `ACTOR_STATE_KEY`) the one who reads and acts. A script run by itself calls it first,
    as every page and view only ever runs after it."""
    from kontur.auth import session
    from kontur.ui.process import runtime

    rt = runtime()
    session.app_gate(rt, session.runtime_mode(rt))


def _gated_page(path: str) -> None:
    import runpy

    from tests.support.features import gate

    gate()
    runpy.run_path(path, run_name="__main__")


def page(path: str) -> AppTest:
    """The page at `path` as `app.py` runs it: after the gate."""
    return AppTest.from_function(_gated_page, args=(str(REPO / path),), default_timeout=90)


def no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.message + "\n" + "\n".join(e.stack_trace) for e in at.exception]


def texts(at: AppTest) -> str:
    parts = [
        e.value
        for kind in ("info", "warning", "error", "success", "caption", "markdown", "subheader", "title")
        for e in at.get(kind)
    ]
    return "\n".join(str(p) for p in parts)


def found_through_kontur(sandbox: RunningSandbox, store: Store, phone: str, *, recorded_by: int) -> Client:
    """What Kontur's client search does with an answer: ask Brusnika, keep the client in the store."""
    with BrusnikaClient(base_url=sandbox.api_url, token=sandbox.token) as client:
        found = client.search_clients(phone_number=phone)
    assert len(found) == 1, found
    with store.write() as tx:
        store_clients.save_clients(tx, found, recorded_by=recorded_by)
    return found[0]
