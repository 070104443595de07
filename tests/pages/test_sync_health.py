"""Sync health page in AppTest: rows per entity equal the cache; "Sync now" runs a real sync."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kontur.cache import Cache
from kontur.config import Settings
from kontur.sandbox.server import RunningSandbox, start_sandbox
from kontur.schema import TABLES
from kontur.sync import run_sync
from tests.pages.helpers import APP, configure, count, metric, no_exceptions, texts
from tests.support.waiting import eventually

# Generous: a deadline to stop waiting on a broken sync, not a speed requirement.
SYNC_DEADLINE_S = 120


def entity_table(at: AppTest):
    return next(d.value for d in at.dataframe if "Сущность" in d.value.columns and "Строк" in d.value.columns)


def runs_table(at: AppTest):
    return next(d.value for d in at.dataframe if "Длительность, с" in d.value.columns)


def test_rows_per_entity_equal_the_cache(app: AppTest, db: Cache) -> None:
    app.switch_page("pages/sync_health.py").run()
    no_exceptions(app)
    table = entity_table(app)
    assert len(table) == len(TABLES)
    for i, table_name in enumerate(TABLES.values()):
        assert table["Строк"].iloc[i] == count(db, f"SELECT count(*) FROM {table_name}")  # noqa: S608
    assert metric(app, "Строк в кэше") == int(table["Строк"].sum())
    assert set(table["Последний запуск"]) == {"Успешно"}
    runs = runs_table(app)
    assert len(runs) == count(db, "SELECT count(*) FROM sync_runs")
    # The session sandbox has no faults: its cache holds no rejects, and the page says so.
    assert count(db, "SELECT count(*) FROM rejected_records") == 0
    assert metric(app, "Отклонённых записей") == 0
    assert "Отклонённых записей нет" in texts(app)
    assert not [d for d in app.dataframe if "Причина" in d.value.columns]


def _wait_for(at: AppTest, done: Callable[[AppTest], bool], what: str) -> None:
    def probe() -> bool:
        at.run()
        no_exceptions(at)
        return done(at)

    eventually(probe, timeout=SYNC_DEADLINE_S, what=what)


def test_sync_now_runs_a_sync_and_refreshes(
    monkeypatch: pytest.MonkeyPatch, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    # Its own cache file: the shared one stays as the other tests expect it.
    path = tmp_path / "own.duckdb"
    configure(monkeypatch, sandbox, path)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("pages/sync_health.py").run()
    no_exceptions(at)
    assert runs_table_or_none(at) is None
    at.button(key="sh_sync_now").click().run()
    no_exceptions(at)
    _wait_for(at, lambda a: "Синхронизация завершена" in texts(a), "the sync finished")
    with Cache(path) as db:
        premises = count(db, "SELECT count(*) FROM premises")
        assert premises == len(sandbox.admin().records("premises"))
        assert entity_table(at)["Строк"].iloc[list(TABLES).index("premises")] == premises
        assert (
            len(runs_table(at)) == 1 == count(db, "SELECT count(*) FROM sync_runs WHERE status = 'succeeded'")
        )


def runs_table_or_none(at: AppTest):
    found = [d.value for d in at.dataframe if "Длительность, с" in d.value.columns]
    return found[0] if found else None


def test_first_start_on_an_empty_cache_syncs_by_itself(
    monkeypatch: pytest.MonkeyPatch, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    path = tmp_path / "fresh.duckdb"
    configure(monkeypatch, sandbox, path, auto_sync="1")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    no_exceptions(at)
    at.switch_page("pages/availability.py").run()  # the landing page is «Сегодня»; stock is here
    no_exceptions(at)
    # either still syncing (progress shown) or already done: never a traceback, never an empty page
    _wait_for(at, lambda a: any(m.label == "Всего помещений" for m in a.metric), "the first fill")
    assert metric(at, "Всего помещений") == len(sandbox.admin().records("premises"))


def test_demo_mode_starts_the_embedded_sandbox_and_fills_the_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No BRUSNIKA_API_URL: the app starts its own sandbox, says so, and syncs it on first start."""
    from kontur import ui

    path = tmp_path / "demo.duckdb"
    monkeypatch.delenv("BRUSNIKA_API_URL", raising=False)
    monkeypatch.delenv("BRUSNIKA_API_TOKEN", raising=False)
    monkeypatch.delenv("KONTUR_AUTO_SYNC", raising=False)
    monkeypatch.setenv("KONTUR_CACHE_PATH", str(path))
    monkeypatch.setenv("KONTUR_DEMO_SCALE", "0.01")
    at = AppTest.from_file(APP, default_timeout=120)
    try:
        at.run()
        no_exceptions(at)
        assert "Демо-режим" in texts(at)
        at.switch_page("pages/availability.py").run()  # the landing page is «Сегодня»; stock is here
        no_exceptions(at)
        _wait_for(at, lambda a: any(m.label == "Всего помещений" for m in a.metric), "the first fill")
        rt = ui._runtime(str(path), None)
        assert rt.demo
        assert metric(at, "Всего помещений") == len(rt.sandbox.admin().records("premises"))
    finally:
        # The runtime lives for the process; its sandbox must not outlive this test.
        ui._runtime(str(path), None).sandbox.stop()


def test_rejected_records_are_listed_with_their_reasons_and_a_withheld_deletion_is_explained(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A sandbox of its own whose feed has malformed records: the page lists every reject with its
    reason, and the run that had to keep rows (an unreadable id) says why in its note."""
    with start_sandbox(scale=0.005, seed=41) as box:
        path = tmp_path / "rejects.duckdb"
        settings = Settings(api_url=box.api_url, api_token=box.token, cache_path=path)
        with Cache(path) as cache:
            assert run_sync(cache, settings).ok
            box.admin().set_faults(malformed=0.02)
            result = run_sync(cache, settings, mode="full", trigger="manual")
            assert result.ok, result.error
            rejects = count(cache, "SELECT count(*) FROM rejected_records")
            withheld = [e for e, c in result.entities.items() if c.note]
        assert rejects > 0
        assert withheld, "the fault should break some ids for this test to mean anything"
        configure(monkeypatch, box, path)
        at = AppTest.from_file(APP, default_timeout=60)
        at.run()
        at.switch_page("pages/sync_health.py").run()
        no_exceptions(at)
        assert metric(at, "Отклонённых записей") == rejects
        listed = next(
            d.value for d in at.dataframe if "Причина" in d.value.columns and "Запись" in d.value.columns
        )
        assert len(listed) == rejects
        assert all(isinstance(r, str) and r for r in listed["Причина"])
        runs = runs_table(at)
        assert runs["Примечание"].iloc[0].startswith(withheld[0])
        assert "deletions withheld" in runs["Примечание"].iloc[0]
        # Newest first: the full run pressed "by hand", then the first one (no trigger recorded).
        assert list(runs["Причина запуска"]) == ["вручную", "—"]
