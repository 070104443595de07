"""The dashboard's consumer restarts itself: a broker killed under it and brought back later, the
consumer resumes by itself from `kafka_offsets`, nothing lost or duplicated, each restart recorded and
shown on the sync page. A broker of its own (the session's broker is shared by the other tests)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from kontur.cache import Cache
from kontur.config import Settings
from kontur.kafka.background import BackgroundConsumer
from kontur.kafka.options import ConsumeOptions
from kontur.models import ENTITIES
from kontur.retry import RetryPolicy
from kontur.sandbox.admin import SandboxAdmin
from kontur.schema import TABLES
from tests.pages.helpers import APP, configure, no_exceptions
from tests.support.kafka_broker import Broker
from tests.support.sandboxes import SandboxFactory
from tests.support.waiting import eventually

from .conftest import duplicate_ids


@pytest.fixture(scope="module")
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    broker = Broker(tmp_path_factory.mktemp("killable-broker")).start()
    try:
        yield broker
    finally:
        broker.stop()


def _matches(cache: Cache, admin: SandboxAdmin) -> bool:
    """The cache holds exactly the sandbox's live records, each in its current version."""
    with cache.reader() as cur:
        for entity in ENTITIES:
            truth = {r["id"]: datetime.fromisoformat(r["updated_at"]) for r in admin.records(entity)}
            held = dict(cur.execute(f"SELECT id, updated_at FROM {TABLES[entity]}").fetchall())  # noqa: S608
            if held != truth:
                return False
    return True


def test_a_killed_broker_comes_back_and_the_consumer_resumes_by_itself(
    own_broker: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandboxes: SandboxFactory
) -> None:
    path = tmp_path / "supervised.duckdb"
    with sandboxes(scale=0.01, seed=31, kafka=own_broker.bootstrap) as sandbox:
        admin = sandbox.admin()
        settings = Settings(kafka_bootstrap_servers=own_broker.bootstrap, kafka_group_id="t-supervised")
        with Cache(path) as cache:
            consumer = BackgroundConsumer(
                cache,
                settings,
                # A broker gone for 2 s ends the session (the default waits 30 s); quick restarts.
                options=ConsumeOptions(linger=0.2, metadata_every=1.0, metadata_timeout=2.0),
                restart_policy=RetryPolicy(backoff_base=0.5, backoff_cap=4.0),
            )
            consumer.start()
            try:
                eventually(lambda: _matches(cache, admin), timeout=180, what="the snapshot consumed")
                own_broker.kill()
                # Changes made while the broker is away: the sandbox's producer holds them.
                admin.drift(200, seed=5)
                eventually(lambda: consumer.status().restarts >= 2, timeout=120,
                           what="the consumer stopped and was restarted (twice: the broker is still away)",
                           describe=consumer.status)  # fmt: skip
                assert consumer.running
                assert not _matches(cache, admin)
                own_broker.start()
                eventually(
                    lambda: consumer.status().state == "caught up" and _matches(cache, admin),
                    timeout=180,
                    what="the consumer resumed by itself and caught up",
                    describe=consumer.status,
                )
                status = consumer.status()
                assert status.error is not None  # the last stop's reason is kept for the page
            finally:
                assert consumer.stop(timeout=60)
        assert duplicate_ids(path) == {}
        con = duckdb.connect(str(path), read_only=True)
        try:
            restarts = con.execute(
                "SELECT group_id, attempt, error, failed_run_id FROM consumer_restarts ORDER BY id"
            ).fetchall()
            sessions = con.execute(
                "SELECT status FROM sync_runs WHERE transport = 'kafka' ORDER BY id"
            ).fetchall()
        finally:
            con.close()
        assert len(restarts) == status.restarts >= 2
        assert {r[0] for r in restarts} == {"t-supervised"}
        assert [r[1] for r in restarts][:2] == [1, 2]  # consecutive failures of one outage
        assert all(r[2] for r in restarts)
        # Every failed session is a failed run; the last one (the resumed one) ended cleanly.
        assert [s for (s,) in sessions][-1] == "succeeded"
        assert sum(s == "failed" for (s,) in sessions) == len(restarts)

        # The sync page lists the restarts with their reasons.
        configure(monkeypatch, sandbox, path)
        monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
        at = AppTest.from_file(APP, default_timeout=60)
        at.run()
        at.switch_page("pages/sync_health.py").run()
        no_exceptions(at)
        table = next(d.value for d in at.dataframe if "Попытка" in d.value.columns)
        assert len(table) == len(restarts)
        assert "брокер Kafka недоступен" in set(table["Причина"])
