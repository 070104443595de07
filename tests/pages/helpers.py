"""Helpers shared by the AppTest modules: configuring the app, ground-truth SQL, reading metrics."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kontur.auth.session import ACTOR_STATE_KEY
from kontur.cache import Cache
from kontur.config import Settings
from kontur.sandbox.server import RunningSandbox
from kontur.sync import run_sync
from tests.support import ops_store

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
NBSP = "\u202f"


def fill_cache(sandbox: RunningSandbox, path: Path, *, directory: bool = True) -> None:
    """The real REST sync into `path`, and (with `directory`) the sandbox's users loaded into the
    users directory of the store the app opens beside it, as the dashboard does in demo mode: scoped
    pages need to know who is who."""
    settings = Settings(api_url=sandbox.api_url, api_token=sandbox.token, cache_path=path)
    with Cache(path) as cache:
        result = run_sync(cache, settings)
        assert result.ok, result.error
    if directory:
        seed_directory(sandbox, path)


def store_url(path: Path) -> str:
    """The operational store a dashboard on the cache `path` opens when no KONTUR_DATABASE_URL is set:
    the SQLite file beside it."""
    return Settings(cache_path=path).ops_database_url()


def seed_directory(sandbox: RunningSandbox, path: Path, *, url: str | None = None) -> None:
    """The sandbox's users as the users directory of the store of the cache at `path` (or `url`),
    when it has none yet, as an operator's `kontur users import` would: against a configured API
    someone must be known before anyone can act or read (the development picker acts as the first
    active ADMIN)."""
    ops_store.seed_url(url or store_url(path), sandbox.admin().users())


def user_with(sandbox: RunningSandbox, role: str, **where: object) -> dict:
    """An active directory user of `role` (and the given field values), the lowest id first."""
    for row in sorted(sandbox.admin().users(), key=lambda u: u["id"]):
        wanted = all(row.get(k) == v for k, v in where.items())
        if row["role"] == role and row["status"] == "active" and wanted:
            return row
    raise AssertionError(f"the sandbox has no active {role} with {where}")


def act_as(at: AppTest, user_id: int) -> None:
    """Who reads the pages: the sidebar's «Действую от имени» choice, as its callback stores it."""
    at.session_state[ACTOR_STATE_KEY] = user_id


def configure(
    monkeypatch: pytest.MonkeyPatch, sandbox: RunningSandbox, cache_path: Path, auto_sync: str = "0"
) -> None:
    monkeypatch.setenv("BRUSNIKA_API_URL", sandbox.api_url)
    monkeypatch.setenv("BRUSNIKA_API_TOKEN", sandbox.token)
    monkeypatch.setenv("KONTUR_CACHE_PATH", str(cache_path))
    monkeypatch.setenv("KONTUR_AUTO_SYNC", auto_sync)
    # No sign-in against a configured API: the development switch lets the «Действую от имени»
    # picker decide who reads (without it the app shows only its configuration screen).
    monkeypatch.setenv("KONTUR_INSECURE_DEV_PICKER", "1")
    seed_directory(sandbox, cache_path)


def count(cache: Cache, sql: str, params: list | None = None) -> int:
    cur = cache.reader()
    try:
        row = cur.execute(sql, params or []).fetchone()
    finally:
        cur.close()
    assert row is not None
    return int(row[0])


def number(text: str) -> int:
    """A metric value as the page prints it («12 800») back to an int."""
    return int(text.replace(NBSP, "").replace(" ", ""))


def metric(at: AppTest, label: str) -> int:
    matches = [m for m in at.metric if m.label == label]
    assert matches, f"no metric {label!r}; have {[m.label for m in at.metric]}"
    return number(matches[0].value)


def texts(at: AppTest) -> str:
    """Every message a page shows (info/warning/error/success/caption/markdown), joined."""
    parts = [
        e.value
        for kind in ("info", "warning", "error", "success", "caption", "markdown")
        for e in at.get(kind)
    ]
    return "\n".join(str(p) for p in parts)


def no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.message + "\n" + "\n".join(e.stack_trace) for e in at.exception]


def pick_scope(
    at: AppTest, *, city: int | None = None, project: int | None = None, building: int | None = None
) -> None:
    """Choose city / project / building as the sidebar selectboxes' callbacks do: by writing the scope
    keys. (AppTest 1.67 drops sidebar elements from the tree on reruns of an `st.navigation` app, so
    the widgets themselves are driven in the Chromium test; here each run re-seeds them from these
    keys, which is the mechanism under test.)"""
    for key, value in (
        ("scope_city_id", city),
        ("scope_project_id", project),
        ("scope_building_id", building),
    ):
        if value is not None:
            at.session_state[key] = value
            at.run()
            no_exceptions(at)
