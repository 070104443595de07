"""The lead summaries keyed by a lead's city (through its project: `lead_agent_city_summary`,
`lead_manager_summary`) stay exact when a sync moves a project with leads to another city, and a Kafka
batch that moves one while deferring the summaries makes readers fall back to `leads`. Every check is
against the plain query over `leads` and a rebuild from scratch, on a cache filled by the real sync.
Uses its own sandbox: the patch would disturb the shared one."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from kontur.auth.scopes import ReadScope
from kontur.cache import Cache
from kontur.load import summaries as upkeep
from kontur.queries import LeadFilters, leads, summaries
from kontur.sandbox.server import RunningSandbox
from tests.conftest import TEST_SCALE
from tests.support.batches import deferring_batch
from tests.support.sandboxes import SandboxFactory, sync_from

EVERYONE = ReadScope.everyone()
CITY_TABLES = ("lead_agent_city_summary", "lead_manager_summary")


@pytest.fixture(scope="module")
def own_sandbox(module_sandboxes: SandboxFactory) -> RunningSandbox:
    return module_sandboxes(seed=23, scale=TEST_SCALE)


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False, rtol=1e-9
    )


def _city_reads_equal_raw(
    cur: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch, cities: list[int]
) -> None:
    """Per city: the leaderboard and both people lists from the summaries equal the plain queries."""
    assert summaries.usable(cur)
    for city in cities:
        f = LeadFilters(city_id=city)
        fast = [
            leads.leaderboard(cur, EVERYONE, f),
            leads.people_options(cur, EVERYONE, "agent_id", f),
            leads.people_options(cur, EVERYONE, "manager_id", f),
            leads.people_options(cur, EVERYONE, "agent_id", f, "1"),
        ]
        with monkeypatch.context() as m:
            m.setattr(summaries, "usable", lambda con: False)
            slow = [
                leads.leaderboard(cur, EVERYONE, f),
                leads.people_options(cur, EVERYONE, "agent_id", f),
                leads.people_options(cur, EVERYONE, "manager_id", f),
                leads.people_options(cur, EVERYONE, "agent_id", f, "1"),
            ]
        assert len(slow[0]) > 0 or city != cities[-1], "a city without leads would test nothing"
        for a, b in zip(fast, slow, strict=True):
            _same(a, b)


def _tables_equal_a_rebuild(cur: duckdb.DuckDBPyConnection) -> None:
    kept = {t: cur.execute(f"SELECT * FROM {t} ORDER BY ALL").df() for t in CITY_TABLES}  # noqa: S608
    cur.execute("BEGIN TRANSACTION")
    try:
        upkeep.rebuild(cur)
        for table, before in kept.items():
            _same(before, cur.execute(f"SELECT * FROM {table} ORDER BY ALL").df())  # noqa: S608
    finally:
        cur.execute("ROLLBACK")


def _busiest_project(cur: duckdb.DuckDBPyConnection) -> tuple[int, int, int]:
    """(project, its city, another city with leads): the project with most leads and where to move it
    (the last city of `_city_reads_equal_raw`, which must have leads before and after)."""
    project, city = cur.execute(
        "SELECT l.project_id, pr.city_id FROM leads l JOIN projects pr ON pr.id = l.project_id "
        "GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1"
    ).fetchone()
    other = cur.execute(
        "SELECT pr.city_id FROM leads l JOIN projects pr ON pr.id = l.project_id WHERE pr.city_id <> ? "
        "GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1",
        [city],
    ).fetchone()[0]
    return int(project), int(city), int(other)


def test_a_project_moved_to_another_city_by_a_sync_keeps_the_city_summaries_exact(
    own_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "kontur.duckdb"
    assert sync_from(own_sandbox, path) == "full"
    with Cache(path) as cache, cache.reader() as cur:
        project, city, other = _busiest_project(cur)
        _city_reads_equal_raw(cur, monkeypatch, [city, other])
        _tables_equal_a_rebuild(cur)
        before = leads.people_options(cur, EVERYONE, "agent_id", LeadFilters(city_id=other), limit=10**6)

    own_sandbox.admin().patch_record("projects", project, city_id=other)
    assert sync_from(own_sandbox, path) == "incremental"
    with Cache(path) as cache, cache.reader() as cur:
        assert cur.execute("SELECT city_id FROM projects WHERE id = ?", [project]).fetchone()[0] == other
        moved = int(
            cur.execute("SELECT count(agent_id) FROM leads WHERE project_id = ?", [project]).fetchone()[0]
        )
        after = leads.people_options(cur, EVERYONE, "agent_id", LeadFilters(city_id=other), limit=10**6)
        # the project's leads now count in the other city (read from the summaries)
        assert int(after["leads"].sum()) == int(before["leads"].sum()) + moved
        _city_reads_equal_raw(cur, monkeypatch, [city, other])
        _tables_equal_a_rebuild(cur)


def test_a_deferring_kafka_batch_that_moves_a_project_is_not_read_from_the_summaries(
    own_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "kontur.duckdb"
    sync_from(own_sandbox, path)
    with Cache(path) as cache:
        with cache.reader() as cur:
            project, city, other = _busiest_project(cur)
            raw_other = int(
                leads.people_options(cur, EVERYONE, "manager_id", LeadFilters(city_id=other), limit=10**6)[
                    "leads"
                ].sum()
            )
            # the lists count the leads that have such a person
            moved = int(
                cur.execute("SELECT count(manager_id) FROM leads WHERE project_id = ?", [project]).fetchone()[
                    0
                ]
            )
        record = own_sandbox.admin().record("projects", project)  # as on the wire
        assert record["city_id"] == city
        record.update(city_id=other, updated_at="2031-01-01T00:00:00+00:00")
        with deferring_batch(cache, "projects", record) as staging:
            with cache.reader() as cur:
                assert not summaries.usable(cur)  # the lead count alone would have trusted them
                now = leads.people_options(
                    cur, EVERYONE, "manager_id", LeadFilters(city_id=other), limit=10**6
                )
                assert int(now["leads"].sum()) == raw_other + moved
            assert staging.refresh_summaries()
            with cache.reader() as cur:
                _city_reads_equal_raw(cur, monkeypatch, [city, other])
                _tables_equal_a_rebuild(cur)
