"""Drift stamps every change with the wall clock at the moment it is made: one-shot (`/admin/drift`)
and continuous (`--drift-per-second`, `/admin/drift/continuous`). Real sandbox processes; the test
process and the sandbox read the same clock, so a change's updated_at must fall between the moments
the test saw before and after it."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from kontur.models import ENTITIES
from tests.support.waiting import eventually

from .conftest import cache_query, sync_into


def _changes_since(api: httpx.Client, fetch_all, since: str) -> list[dict]:
    out = []
    for entity in ENTITIES:
        items, _ = fetch_all(api, entity, updated_since=since)
        out += items
    return out


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_one_shot_drift_is_stamped_with_the_time_of_the_change(own_sandbox, api, fetch_all):
    admin = own_sandbox.admin()
    before = datetime.now(UTC)
    counts = admin.drift(200, seed=21)
    after = datetime.now(UTC)
    changes = _changes_since(api, fetch_all, _stamp(before))
    assert 100 < len(changes) <= sum(counts.values())  # a record changed twice shows once
    assert all(before <= datetime.fromisoformat(c["updated_at"]) <= after for c in changes)


def test_continuous_drift_runs_until_stopped_with_fresh_updated_at(own_sandbox, api, fetch_all):
    admin = own_sandbox.admin()
    before = datetime.now(UTC)
    assert admin.continuous_drift(40, seed=3) == {"per_second": 40.0, "applied": 0}
    try:
        eventually(lambda: admin.drift_status()["applied"] >= 60, what="60 continuous changes")
    finally:
        stopped = admin.continuous_drift(0)
    after = datetime.now(UTC)
    changes = _changes_since(api, fetch_all, _stamp(before))
    stamps = sorted(datetime.fromisoformat(c["updated_at"]) for c in changes)
    assert len(changes) >= 30
    assert before <= stamps[0]
    assert stamps[-1] <= after
    # Spread over time, not one burst: at 40/s the 60 changes take over a second.
    assert (stamps[-1] - stamps[0]).total_seconds() > 0.5
    # Stopped means stopped: half a second is ten changes' worth at this rate.
    last = admin.stats()["last_updated_at"]
    time.sleep(0.5)
    assert admin.stats()["last_updated_at"] == last
    assert admin.drift_status() == stopped


def test_bad_rates_are_refused(own_sandbox):
    admin = own_sandbox.admin()
    with pytest.raises(httpx.HTTPStatusError) as refused:
        admin.continuous_drift(-1)
    assert refused.value.response.status_code == 422
    assert admin.drift_status()["per_second"] == 0


def test_drift_per_second_flag_feeds_incremental_syncs(tmp_path: Path, sandboxes):
    started = datetime.now(UTC)
    with sandboxes(scale=0.01, seed=91, extra_args=("--drift-per-second", "25")) as running:
        admin = running.admin()
        assert admin.stats()["modes"]["drift_per_second"] == 25
        cache_file = tmp_path / "drifting.duckdb"
        assert sync_into(cache_file, running).ok
        first = cache_query(cache_file, "SELECT max(updated_at) FROM premises")[0][0]

        def newer_in_cache() -> bool:
            result = sync_into(cache_file, running)
            assert result.ok, result.error
            return cache_query(cache_file, "SELECT max(updated_at) FROM premises")[0][0] > first

        eventually(newer_in_cache, what="a drifted premise in the cache")
        newest = cache_query(cache_file, "SELECT max(updated_at) FROM premises")[0][0]
        assert started <= newest <= datetime.now(UTC)
        admin.continuous_drift(0)
