"""The dashboard's lead summaries on a cache fed from Kafka: batches of a backlog skip maintaining
them (marked stale, pages read `leads` meanwhile); after catching up they equal a rebuild."""

from __future__ import annotations

from pathlib import Path

import duckdb

from kontur.auth.scopes import ReadScope
from kontur.cache import Cache
from kontur.load import summaries as upkeep
from kontur.queries import LeadFilters, leads, summaries
from tests.support.batches import deferring_batch

from .conftest import KafkaWorld
from .helpers import consume_to_end

_TABLES = (*(s.table for s in summaries.SUMMABLE), "lead_stage_oldest", "lead_stage_groups")

EVERYONE = ReadScope.everyone()  # the summaries answer a reader who sees every lead


def _snapshot(cur: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    return {t: cur.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in _TABLES}  # noqa: S608


def _equal_to_a_rebuild(cur: duckdb.DuckDBPyConnection) -> None:
    assert summaries.usable(cur)
    kept = _snapshot(cur)
    assert kept["lead_stage_summary"], "no leads summarised: the test would mean nothing"
    cur.execute("BEGIN TRANSACTION")
    try:
        upkeep.rebuild(cur)
        assert _snapshot(cur) == kept
    finally:
        cur.execute("ROLLBACK")


def test_summaries_after_catching_up_equal_a_rebuild_and_stale_ones_are_not_read(
    kafka_world: KafkaWorld, tmp_path: Path
) -> None:
    path = tmp_path / "kafka.duckdb"
    # Small batches: most of them are a backlog's (not caught up), so they defer the summaries.
    stats = consume_to_end(kafka_world, "t-summaries", path, batch_max=300)
    assert stats.stopped_by == "caught up"
    assert stats.batches > 3
    with Cache(path) as cache:
        cur = cache.reader()
        _equal_to_a_rebuild(cur)
        raw_before = leads.stage_counts(cur, EVERYONE, LeadFilters())

        # A deferring batch that changes a lead's stage but not the number of leads: the stale
        # summaries must not be read (a lead count check alone would trust them).
        record = kafka_world.sandbox.admin().records("leads")[0]  # as on the wire
        status = cur.execute("SELECT current_status FROM leads WHERE id = ?", [record["id"]]).fetchone()[0]
        other = cur.execute(
            "SELECT current_status FROM leads WHERE current_status <> ? LIMIT 1", [status]
        ).fetchone()[0]
        record.update(current_status=other, updated_at="2031-01-01T00:00:00+00:00")
        try:
            with deferring_batch(cache, "leads", record) as staging:
                assert not summaries.usable(cur)
                after = leads.stage_counts(cur, EVERYONE, LeadFilters()).set_index("current_status")["n"]
                before = raw_before.set_index("current_status")["n"]
                assert after[other] == before[other] + 1
                assert after.get(status, 0) == before[status] - 1

                assert staging.refresh_summaries()
                _equal_to_a_rebuild(cur)
                assert not staging.refresh_summaries()  # already fresh: nothing to do
                via_summaries = leads.stage_counts(cur, EVERYONE, LeadFilters()).set_index("current_status")[
                    "n"
                ]
                assert via_summaries.sort_index().tolist() == after.sort_index().tolist()
        finally:
            cur.close()
