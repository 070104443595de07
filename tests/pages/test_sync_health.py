"""Sync health page in AppTest: rows per entity equal the cache; "Sync now" runs a real sync."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kontur.cache import Cache
from kontur.sandbox.server import RunningSandbox
from kontur.schema import TABLES
from tests.pages.helpers import APP, configure, count, metric, no_exceptions, texts

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
    assert metric(app, "Отклонённых записей") == count(db, "SELECT count(*) FROM rejected_records")
    assert "Отклонённых записей нет" in texts(app) or count(db, "SELECT count(*) FROM rejected_records") > 0


def _wait_for(at: AppTest, done) -> None:
    deadline = time.monotonic() + SYNC_DEADLINE_S
    while True:
        at.run()
        no_exceptions(at)
        if done(at):
            return
        assert time.monotonic() < deadline, "the sync did not finish"
        time.sleep(0.3)


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
    _wait_for(at, lambda a: "Синхронизация завершена" in texts(a))
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
    # either still syncing (progress shown) or already done: never a traceback, never an empty page
    _wait_for(at, lambda a: any(m.label == "Всего помещений" for m in a.metric))
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
        _wait_for(at, lambda a: any(m.label == "Всего помещений" for m in a.metric))
        rt = ui._runtime(str(path), None)
        assert rt.demo
        assert metric(at, "Всего помещений") == len(rt.sandbox.admin().records("premises"))
    finally:
        # The runtime lives for the process; its sandbox must not outlive this test.
        ui._runtime(str(path), None).sandbox.stop()
