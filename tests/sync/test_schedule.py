"""The dashboard process syncs by itself (kontur.scheduler): the app started against a real sandbox
reaches its truth with no click, survives a sandbox answering 503 with backoff (the sidebar warns,
then clears), fills an empty cache exactly once however often the first page is reloaded, and does
nothing at all on its own with KONTUR_AUTO_SYNC=0.

What the app shows is read through its own queries (`kontur.queries`) on the app's own runtime, and
in its sidebar through fresh AppTest sessions (AppTest drops sidebar elements on reruns of an
`st.navigation` app, so each look is a new session's first run, as a person opening a page)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import Page, expect
from streamlit.testing.v1 import AppTest

from kontur import ui
from kontur.models import ENTITIES
from kontur.processes import free_port
from kontur.queries import sync_health
from kontur.runtime import Runtime
from kontur.sandbox.server import RunningSandbox
from kontur.scheduler import next_full_at
from tests.e2e.conftest_auth import run_streamlit
from tests.pages.helpers import APP, REPO, no_exceptions, seed_directory
from tests.support.waiting import eventually

from .conftest import assert_cache_equals_sandbox, open_cache


def test_the_next_full_sync_is_one_period_later_at_the_configured_time_of_day() -> None:
    local = datetime(2026, 12, 1, 3, 30, 5)  # naive: local time, as the setting means it
    daily = datetime.fromtimestamp(next_full_at(local.timestamp(), 86400, "03:30"))
    assert daily == datetime(2026, 12, 2, 3, 30)
    # A full that ran late (a failure, retried) still comes back to 03:30 the next night.
    late = datetime.fromtimestamp(next_full_at(datetime(2026, 12, 1, 9, 0).timestamp(), 86400, "03:30"))
    assert late == datetime(2026, 12, 2, 3, 30)
    weekly = datetime.fromtimestamp(next_full_at(local.timestamp(), 7 * 86400, "03:30"))
    assert weekly == datetime(2026, 12, 8, 3, 30)
    # Without a time of day, or with a period under a day, simply one period later.
    assert next_full_at(local.timestamp(), 86400, None) == local.timestamp() + 86400
    assert next_full_at(local.timestamp(), 3600, "03:30") == local.timestamp() + 3600


# --- the app itself ------------------------------------------------------------------------------
@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch, fresh_sandbox: RunningSandbox, tmp_path: Path) -> Iterator[Path]:
    """The app pointed at the private sandbox and an empty cache file, schedule on (every 2 s), quick
    client retries; its runtime (one per process, as in production) is closed afterwards."""
    path = tmp_path / "scheduled.duckdb"
    for name, value in {
        "BRUSNIKA_API_URL": fresh_sandbox.api_url,
        "BRUSNIKA_API_TOKEN": fresh_sandbox.token,
        "KONTUR_CACHE_PATH": str(path),
        "KONTUR_SYNC_INTERVAL": "2",
        "BRUSNIKA_RETRY_MAX_ATTEMPTS": "2",
        "BRUSNIKA_RETRY_BACKOFF_BASE": "0.05",
        # no sign-in against a configured API: the development picker, else only the setup screen
        "KONTUR_INSECURE_DEV_PICKER": "1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("KONTUR_AUTO_SYNC", raising=False)
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    seed_directory(fresh_sandbox, path)  # someone to act as (the development picker's first ADMIN)
    try:
        yield path
    finally:
        ui._runtime(str(path), fresh_sandbox.api_url).close()
        ui._runtime.clear()


def _open(page: str = "pages/availability.py") -> AppTest:
    """A new session on `page`: its first run (the sidebar is there on a first run)."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    no_exceptions(at)
    if page != "pages/availability.py":
        at.switch_page(page).run()
        no_exceptions(at)
    return at


def _sidebar(at: AppTest) -> tuple[list[str], list[str]]:
    return [c.value for c in at.sidebar.caption], [w.value for w in at.sidebar.warning]


def _app_sees_truth(rt: Runtime, sandbox: RunningSandbox) -> bool:
    """Every entity as the app's own queries read it equals the sandbox's live records: the same
    count and, for every record, the same version (`updated_at`)."""
    admin = sandbox.admin()
    with rt.cursor() as cur:
        table = sync_health.entities(cur)
        rows = dict(zip(table["entity"], table["rows"], strict=True))
        for entity in ENTITIES:
            truth = {r["id"]: datetime.fromisoformat(r["updated_at"]) for r in admin.records(entity)}
            if rows.get(entity) != len(truth) or sync_health.held_versions(cur, entity, list(truth)) != truth:
                return False
    return True


def _runs(rt: Runtime) -> list[tuple]:
    with rt.cursor() as cur:
        return cur.execute(
            "SELECT trigger, mode, status, started_at, finished_at, error FROM sync_runs ORDER BY id"
        ).fetchall()


def test_the_app_reaches_the_sandbox_truth_with_no_click(
    app_env: Path, fresh_sandbox: RunningSandbox
) -> None:
    _open()  # whoever opens a page: the process fills the cache by itself
    rt = ui._runtime(str(app_env), fresh_sandbox.api_url)
    eventually(lambda: _app_sees_truth(rt, fresh_sandbox), timeout=120, what="the first fill")
    assert next(r[:3] for r in _runs(rt)) == ("first", "full", "succeeded")

    fresh_sandbox.admin().drift(300, seed=21)
    assert not _app_sees_truth(rt, fresh_sandbox)
    eventually(lambda: _app_sees_truth(rt, fresh_sandbox), timeout=120, what="the drift reached the app")
    runs = _runs(rt)
    assert ("interval", "incremental", "succeeded") in [r[:3] for r in runs]
    assert [r for r in runs if r[0] in ("first", "full")] == runs[:1]  # one full sync: the first fill
    caption, warning = _sidebar(_open())
    assert warning == []
    assert any(c.startswith("Данные обновлены") for c in caption), caption


def test_a_sandbox_answering_503_is_survived_with_backoff_and_the_sidebar_says_so(
    app_env: Path, fresh_sandbox: RunningSandbox
) -> None:
    _open()
    rt = ui._runtime(str(app_env), fresh_sandbox.api_url)
    eventually(lambda: _app_sees_truth(rt, fresh_sandbox), timeout=120, what="the first fill")
    admin = fresh_sandbox.admin()
    admin.set_faults(server_error=1.0)
    try:
        eventually(lambda: rt.sync.status().failures >= 3, timeout=120, what="three failed runs in a row",
                   describe=rt.sync.status)  # fmt: skip
        status = rt.sync.status()
        assert status.next_trigger == "retry"
        assert status.last_error is not None
        assert "UnavailableError" in status.last_error
        caption, warning = _sidebar(_open())
        assert len(warning) == 1, (caption, warning)
        assert "Последняя синхронизация не удалась" in warning[0]
        assert "Брусника не отвечает" in warning[0]
        failed = [r for r in _runs(rt) if r[2] == "failed"]
        assert [r[0] for r in failed][:1] == ["interval"]
        assert {r[0] for r in failed[1:]} == {"retry"}
        # Backoff: each retry waited at least the policy's guaranteed half step (2 s doubling: 1, 2, 4 s).
        for n, (previous, retry) in enumerate(itertools.pairwise(failed), start=1):
            waited = (retry[3] - previous[4]).total_seconds()
            assert waited >= rt.sync.backoff.backoff_base * 2 ** (n - 1) / 2 - 0.05, (n, waited)
    finally:
        admin.clear_faults()
    fresh_sandbox.admin().drift(50, seed=22)
    eventually(lambda: _app_sees_truth(rt, fresh_sandbox), timeout=120, what="recovery after the 503s")
    eventually(lambda: rt.sync.status().failures == 0, timeout=60, what="the failure count reset")
    caption, warning = _sidebar(_open())
    assert warning == []
    assert any(c.startswith("Данные обновлены") for c in caption), caption


def test_without_auto_sync_nothing_runs_but_the_button(
    monkeypatch: pytest.MonkeyPatch, app_env: Path, fresh_sandbox: RunningSandbox
) -> None:
    monkeypatch.setenv("KONTUR_AUTO_SYNC", "0")
    at = _open()
    rt = ui._runtime(str(app_env), fresh_sandbox.api_url)
    status = rt.sync.status()
    assert (status.automatic, status.next_at) == (False, None)
    assert any("Кэш пуст" in w.value for w in at.warning)
    _caption, warning = _sidebar(at)
    assert any("Данных ещё нет" in w for w in warning), warning
    assert rt.sync.run_now()
    assert rt.sync.wait(timeout=120).state == "done"
    # The press ran one sync, and nothing else ran meanwhile (no first fill, no schedule).
    assert [r[:3] for r in _runs(rt)] == [("manual", "full", "succeeded")]
    assert _app_sees_truth(rt, fresh_sandbox)


def test_reloading_the_first_page_in_the_first_seconds_fills_the_cache_exactly_once(
    page: Page, fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """A reload storm of new sessions while the app starts: the first full sync belongs to the
    process, so no session's teardown can lose it and none can start a second one."""
    path = tmp_path / "stormed.duckdb"
    env = {
        "BRUSNIKA_API_URL": fresh_sandbox.api_url,
        "BRUSNIKA_API_TOKEN": fresh_sandbox.token,
        "KONTUR_CACHE_PATH": str(path),
        "KONTUR_SYNC_INTERVAL": "0",  # only the first fill: any other run would be a second one
        "KONTUR_FULL_SYNC_EVERY": "0",
        "KONTUR_AUTO_SYNC": "",
        "KONTUR_INSECURE_DEV_PICKER": "1",
    }
    seed_directory(fresh_sandbox, path)
    with run_streamlit(
        REPO / "app.py", port=free_port(), secrets_toml=None, workdir=tmp_path, env=env
    ) as app:
        for _ in range(15):
            page.goto(app.url, wait_until="commit")  # each a new session; the previous one torn down
        expect(page.get_by_text("Данные обновлены")).to_be_visible(timeout=180_000)
    con = duckdb.connect(str(path), read_only=True)
    try:
        runs = con.execute("SELECT transport, trigger, mode, status FROM sync_runs ORDER BY id").fetchall()
    finally:
        con.close()
    assert runs == [("rest", "first", "full", "succeeded")]
    with open_cache(tmp_path, path.name) as cache:
        assert_cache_equals_sandbox(cache, fresh_sandbox)
