"""The dashboard process feeds its cache from Kafka (KAFKA_BOOTSTRAP_SERVERS set), the sync health page
shows the consumer, and REST and Kafka on one cache: an incremental REST sync is safe, a full one is
refused with a clear message and changes nothing."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from kontur import ui
from kontur.cache import Cache
from kontur.queries.sync_health import kafka_lag as recorded_lag
from kontur.runtime import start_runtime
from kontur.sync import run_sync
from tests.pages.helpers import APP, configure, no_exceptions
from tests.support.waiting import eventually

from .conftest import KafkaWorld, table_differences, topic_end_offsets
from .helpers import consume_to_end


def _query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_dashboard_runtime_consumes_in_the_background_and_refuses_a_full_rest_sync(
    kafka_world: KafkaWorld, tmp_path: Path
) -> None:
    path = tmp_path / "dash.duckdb"
    rt = start_runtime(kafka_world.settings("t-dash", path))
    try:
        assert rt.kafka is not None
        consumer = rt.kafka

        def caught_up() -> bool:
            state = consumer.status().state
            assert state in ("starting", "catching up", "caught up"), consumer.status()
            return state == "caught up"

        eventually(caught_up, timeout=180, what="the consumer caught up", describe=consumer.status)
        status = consumer.status()
        # Every message on the topics (other tests add a few of their own to the sandbox's).
        assert status.messages == topic_end_offsets(kafka_world.bootstrap)
        # Every committed batch bumped the data version (cached page reads refresh).
        assert rt.data_version >= status.batches >= 1
        with rt.cursor() as cur:
            assert int(recorded_lag(cur, "t-dash")["lag"].sum()) == 0
        # No automatic first REST sync on a stream-fed cache (the schedule runs only REST
        # incrementals there, and this cache has no REST mark to resume from), and a REST sync that
        # would be full is refused at once, saying why.
        assert rt.sync.status().kafka_fed
        assert _query_live(rt, "SELECT count(*) FROM sync_runs WHERE transport = 'rest'") == [(0,)]
        assert rt.sync.run_now()
        progress = rt.sync.wait(timeout=60)
        assert progress.state == "failed"
        assert "fed from Kafka" in progress.message
        assert "t-dash" in progress.message
    finally:
        rt.close()
    assert not rt.kafka.running
    assert table_differences(path, kafka_world.reference) == {}
    runs = _query(path, "SELECT transport, status FROM sync_runs ORDER BY id")
    # The refused REST sync never started a run; the consumer session ended cleanly.
    assert runs == [("kafka", "succeeded")]


def test_rest_incremental_after_kafka_is_safe_and_a_full_rest_sync_is_refused(
    kafka_world: KafkaWorld, tmp_path: Path
) -> None:
    path = tmp_path / "mixed.duckdb"
    settings = kafka_world.settings("t-mixed", path)
    with Cache(path) as cache:  # REST full first (the documented way with time-limited retention)
        assert run_sync(cache, settings, mode="full").ok
    marks_before = _query(path, "SELECT entity, high_water FROM sync_state ORDER BY entity")
    consume_to_end(kafka_world, "t-mixed", path)
    # The stream leaves the REST high-water marks alone (they say where a REST incremental resumes).
    assert _query(path, "SELECT entity, high_water FROM sync_state ORDER BY entity") == marks_before
    with Cache(path) as cache:
        result = run_sync(cache, settings)
        assert result.ok, result.error
        assert set(result.modes.values()) == {"incremental"}
        refused = run_sync(cache, settings, mode="full")
    assert not refused.ok
    assert "fed from Kafka" in (refused.error or "")
    assert table_differences(path, kafka_world.reference) == {}


def test_sync_health_page_shows_the_background_consumer(
    kafka_world: KafkaWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "page.duckdb"
    configure(monkeypatch, kafka_world.sandbox, path)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_world.bootstrap)
    monkeypatch.setenv("KAFKA_GROUP_ID", "t-page-live")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    try:
        at.switch_page("pages/sync_health.py").run()
        no_exceptions(at)

        def caught_up() -> bool:
            at.run()
            no_exceptions(at)
            return _metric(at, "Потребитель") == "Работает, догнал топики"

        eventually(caught_up, timeout=180, what="the page shows the consumer caught up",
                   describe=lambda: _metric(at, "Потребитель"))  # fmt: skip
        assert _metric(at, "Отставание, сообщений") == "0"
        assert int(_metric(at, "Сообщений с запуска").replace("\u202f", "")) == topic_end_offsets(
            kafka_world.bootstrap
        )
        table = next(d.value for d in at.dataframe if "Отставание" in d.value.columns)
        assert set(table["Группа"]) == {"t-page-live"}
    finally:
        # The runtime lives in Streamlit's resource cache of this process: stop its consumer.
        runtime = ui._runtime(str(path), kafka_world.sandbox.api_url)
        runtime.close()
        ui._runtime.clear()
    assert not [t for t in threading.enumerate() if t.name.startswith("kontur-kafka") and t.is_alive()]
    assert table_differences(path, kafka_world.reference) == {}


def _query_live(rt: object, sql: str) -> list[tuple]:
    with rt.cursor() as cur:  # type: ignore[attr-defined]
        return cur.execute(sql).fetchall()


def _metric(at: AppTest, label: str) -> str:
    matches = [m.value for m in at.metric if m.label == label]
    assert matches, [m.label for m in at.metric]
    return str(matches[0])
