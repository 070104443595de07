"""The lead summaries (kontur.queries.summaries) against `leads` itself: after a full sync and after
drift + an incremental sync, every summary-backed query returns what the raw query returns, and the
summary tables equal a rebuild from scratch. Uses its own sandbox: drift would disturb the shared one."""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import pytest

from kontur.auth.scopes import ReadScope
from kontur.cache import Cache
from kontur.load import summaries as upkeep
from kontur.queries import LeadFilters, funnel, leads, summaries
from kontur.sandbox.server import RunningSandbox
from tests.conftest import TEST_SCALE
from tests.support.sandboxes import SandboxFactory, sync_from

FINGERPRINT = "SELECT count(*), sum(hash(id, current_status, status_updated_at)) FROM leads"


@pytest.fixture(scope="module")
def own_sandbox(module_sandboxes: SandboxFactory) -> RunningSandbox:
    return module_sandboxes(seed=11, scale=TEST_SCALE)


def _filters(cur) -> list[LeadFilters]:
    city, project = cur.execute(
        "SELECT pr.city_id, l.project_id FROM leads l JOIN projects pr ON pr.id = l.project_id "
        "GROUP BY ALL ORDER BY count(*) DESC, 1, 2 LIMIT 1"
    ).fetchone()
    agents = tuple(a for (a,) in cur.execute(_BUSIEST_AGENTS).fetchall()[:2])
    return [
        LeadFilters(),
        LeadFilters(city_id=city),
        LeadFilters(project_id=project),
        LeadFilters(states=("Активные",)),
        LeadFilters(states=("Выиграна", "Проиграна")),
        LeadFilters(city_id=city, states=("Активные", "На паузе")),
        LeadFilters(project_id=project, states=("Выиграна",)),
        LeadFilters(agent_ids=agents[:1]),
        LeadFilters(agent_ids=agents, states=("Активные",)),
        LeadFilters(city_id=city, agent_ids=agents),
    ]


_BUSIEST_AGENTS = (
    "SELECT agent_id FROM leads WHERE agent_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 8"
)


def _scopes(cur) -> list[ReadScope]:
    """Everyone, and an agency-like reader: the per-agent sums answer them too. The agency holds the
    second of the busiest agents, so an agent filter names one inside the scope and one outside."""
    agents = [a for (a,) in cur.execute(_BUSIEST_AGENTS).fetchall()]
    return [EVERYONE, ReadScope(frozenset(agents[1:]))]


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False, rtol=1e-9
    )


def _raw(monkeypatch: pytest.MonkeyPatch, fn, *args):
    with monkeypatch.context() as m:
        m.setattr(summaries, "usable", lambda con: False)
        return fn(*args)


EVERYONE = ReadScope.everyone()


def _compare_queries(cur, monkeypatch: pytest.MonkeyPatch) -> None:
    assert summaries.usable(cur)
    for e, f in itertools.product(_scopes(cur), _filters(cur)):
        _same(leads.stage_counts(cur, e, f).sort_values("current_status"),
              _raw(monkeypatch, leads.stage_counts, cur, e, f).sort_values("current_status"))  # fmt: skip
        _same(leads.weekly_starts(cur, e, f), _raw(monkeypatch, leads.weekly_starts, cur, e, f))
        _same(leads.stale_summary(cur, e, f), _raw(monkeypatch, leads.stale_summary, cur, e, f))
        _same(leads.stale_leads(cur, e, f), _raw(monkeypatch, leads.stale_leads, cur, e, f))
        _same(leads.leaderboard(cur, e, f), _raw(monkeypatch, leads.leaderboard, cur, e, f))
        assert funnel.won(cur, e, f) == _raw(monkeypatch, funnel.won, cur, e, f)
        for role in ("agent_id", "manager_id"):
            _same(
                leads.people_options(cur, e, role, f),
                _raw(monkeypatch, leads.people_options, cur, e, role, f),
            )


def _compare_tables(cur) -> None:
    """The maintained tables against what a rebuild computes from `leads` now: the sums equal; each
    (project, stage) list is a prefix of the rebuilt one (the oldest leads, in order), at least
    OLDEST_SHOWN long unless it holds the whole group."""
    kept = {
        s.table: cur.execute(f"SELECT * FROM {s.table} ORDER BY ALL").df()  # noqa: S608 -- own constants
        for s in summaries.SUMMABLE
    }
    order = "ORDER BY project_id, current_status, status_updated_at, id"
    oldest = cur.execute(f"SELECT * FROM lead_stage_oldest {order}").fetchall()  # noqa: S608
    cur.execute("BEGIN TRANSACTION")
    try:
        upkeep.rebuild(cur)
        for table, before in kept.items():
            _same(before, cur.execute(f"SELECT * FROM {table} ORDER BY ALL").df())  # noqa: S608
        rebuilt = cur.execute(f"SELECT * FROM lead_stage_oldest {order}").fetchall()  # noqa: S608
        sizes = dict(
            ((p, st), n)
            for p, st, n in cur.execute(
                "SELECT project_id, current_status, n FROM lead_stage_summary"
            ).fetchall()
        )
    finally:
        cur.execute("ROLLBACK")

    def lists(rows: list[tuple]) -> dict[tuple, list[tuple]]:
        out: dict[tuple, list[tuple]] = {}
        for row in rows:
            out.setdefault((row[0], row[1]), []).append(row)
        return out

    mine, truth = lists(oldest), lists(rebuilt)
    assert set(mine) == set(truth) == set(sizes)
    for group, rows in mine.items():
        assert rows == truth[group][: len(rows)], group
        assert len(rows) >= min(sizes[group], summaries.OLDEST_SHOWN), group


def test_summaries_stay_exact_through_full_and_incremental_syncs(
    own_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "kontur.duckdb"
    sync_from(own_sandbox, path)
    with Cache(path) as cache:
        cur = cache.reader()
        _compare_queries(cur, monkeypatch)
        _compare_tables(cur)
        before = cur.execute(
            "SELECT count(*), sum(hash(id, current_status, status_updated_at)) FROM leads"
        ).fetchone()
        cur.close()

    drift = own_sandbox.admin().drift(600, seed=5)
    assert drift, "the drift must change something for this test to mean anything"
    sync_from(own_sandbox, path)
    with Cache(path) as cache:
        cur = cache.reader()
        after = cur.execute(
            "SELECT count(*), sum(hash(id, current_status, status_updated_at)) FROM leads"
        ).fetchone()
        assert after != before, "the incremental sync changed no lead"
        runs = cur.execute("SELECT mode FROM sync_runs ORDER BY id").fetchall()
        assert runs[-1][0] == "incremental"
        _compare_queries(cur, monkeypatch)
        _compare_tables(cur)
        cur.close()


def test_a_cache_changed_behind_the_summaries_falls_back_to_leads(
    own_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    path = tmp_path / "kontur.duckdb"
    sync_from(own_sandbox, path)
    with Cache(path) as cache:
        cur = cache.reader()
        assert summaries.usable(cur)
        cur.execute("DELETE FROM leads WHERE id = (SELECT min(id) FROM leads)")  # not through the load path
        assert not summaries.usable(cur)
        raw_total = int(cur.execute("SELECT count(*) FROM leads").fetchone()[0])
        assert int(leads.stage_counts(cur, EVERYONE, LeadFilters())["n"].sum()) == raw_total
        cur.close()
