"""The sync health page shows consumer lag per topic, as the consumer recorded it in the cache."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from kontur.kafka.topics import TOPICS
from kontur.queries.sync_health import kafka_lag as recorded_lag
from tests.pages.helpers import APP, configure, no_exceptions

from .conftest import KafkaWorld
from .helpers import consume_to_end


def test_sync_health_page_shows_lag_per_topic(
    kafka_world: KafkaWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "kafka.duckdb"
    # Stop after the first small batch: the rest of the topics is still to read, so lag > 0.
    stats = consume_to_end(kafka_world, "t-page", path, batch_max=500, max_messages=500)
    assert stats.stopped_by == "max messages"
    con = duckdb.connect(str(path), read_only=True)
    try:
        expected = recorded_lag(con)
    finally:
        con.close()
    assert int(expected["lag"].sum()) > 0

    configure(monkeypatch, kafka_world.sandbox, path)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("pages/sync_health.py").run()
    no_exceptions(at)
    table = next(d.value for d in at.dataframe if "Отставание" in d.value.columns)
    assert sorted(table["Топик"]) == sorted(TOPICS.values())
    shown = dict(zip(table["Топик"], table["Отставание"], strict=True))
    assert shown == dict(zip(expected["topic"], expected["lag"], strict=True))
    assert sum(shown.values()) == int(expected["lag"].sum())
