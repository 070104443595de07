"""A rejected record is not forgotten: an incremental sync fetches it again until it loads, and a full
sync never deletes the last good row of a record whose incoming copy was rejected, even when the copy's
id cannot be read. Real sandbox, its deterministic `malformed` fault, real cache files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from kontur.models import ENTITIES
from kontur.sandbox.server import RunningSandbox
from kontur.sync import run_sync

from .conftest import assert_cache_equals_sandbox, cache_ids, cache_rows, client_for, expected_row, open_cache


def _rejects(cache: Any, run_id: int) -> list[tuple[str, int | None, int]]:
    """(entity, record id as stored, the record's real id) of a run's rejects; a broken id
    ("id-123", the fault's kind 0) is recovered from the raw copy to know which record it was."""
    with cache.reader() as cur:
        found = cur.execute(
            "SELECT entity, record_id, raw FROM rejected_records WHERE run_id = ?", [run_id]
        ).fetchall()
    out = []
    for entity, record_id, raw in found:
        rid = orjson.loads(raw).get("id")
        out.append((entity, record_id, rid if isinstance(rid, int) else int(str(rid).removeprefix("id-"))))
    return out


def test_a_record_rejected_by_an_incremental_is_fetched_again_and_loads_once_fixed(
    fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    admin = fresh_sandbox.admin()
    with open_cache(tmp_path) as cache, client_for(fresh_sandbox) as client:
        assert run_sync(cache, client).ok
        admin.drift(400, seed=11)
        admin.set_faults(malformed=0.03)
        first = run_sync(cache, client)
        assert first.ok, first.error
        assert set(first.modes.values()) == {"incremental"}
        rejected = _rejects(cache, first.run_id)
        assert rejected, "the fault rejected nothing: the test would mean nothing"
        truth = {e: {r["id"]: r for r in admin.records(e)} for e in {e for e, _, _ in rejected}}
        behind = [
            (e, rid)
            for e, _, rid in rejected
            if rid in truth[e] and cache_rows(cache, e, [rid]).get(rid) != expected_row(e, truth[e][rid])
        ]
        assert behind, "the cache should hold older versions of the rejected records now"

        # Fixed upstream (the fault cleared; their versions did not change): the next scheduled-style
        # incremental fetches them again, from before the oldest rejected copy, and they load.
        admin.clear_faults()
        second = run_sync(cache, client)
        assert second.ok, second.error
        assert sum(c.rejected for c in second.entities.values()) == 0
        for entity, rid in behind:
            assert cache_rows(cache, entity, [rid])[rid] == expected_row(entity, truth[entity][rid])
        assert_cache_equals_sandbox(cache, fresh_sandbox, sample=80)
        # Loaded at last: the mark moved on past them, so the next run has nothing to fetch.
        third = run_sync(cache, client)
        assert third.ok
        assert third.received == 0


def test_a_full_sync_keeps_the_last_good_row_of_a_record_whose_copy_is_rejected(
    fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    admin = fresh_sandbox.admin()
    with open_cache(tmp_path) as cache, client_for(fresh_sandbox) as client:
        assert run_sync(cache, client).ok
        before = {e: set(cache_ids(cache, e)) for e in ENTITIES}
        admin.drift(300, seed=12)
        withdrawn = {e: before[e] - {r["id"] for r in admin.records(e)} for e in ENTITIES}
        assert withdrawn["premises"], "the drift should withdraw premises for this test to mean anything"
        admin.set_faults(malformed=0.02)
        result = run_sync(cache, client, mode="full")
        assert result.ok, result.error
        rejected = _rejects(cache, result.run_id)
        assert len(rejected) == sum(c.rejected for c in result.entities.values()) > 0

        # Every record whose copy was rejected still has a row in the cache: its last good one.
        for entity, _stored_id, rid in rejected:
            if rid in before[entity]:
                assert rid in set(cache_ids(cache, entity)), (entity, rid)
        # A copy whose id could not be read might be any row the snapshot lacks: that entity deletes
        # nothing this run (records withdrawn upstream stay a while), and the run says so.
        unreadable = {entity for entity, stored_id, _ in rejected if stored_id is None}
        assert "premises" in unreadable
        for entity in unreadable:
            counts = result.entities[entity]
            assert counts.deleted == 0
            assert counts.note is not None
            assert "deletions withheld" in counts.note
            assert withdrawn[entity] <= set(cache_ids(cache, entity))
            assert counts.withheld >= len(withdrawn[entity])
        run = cache.run(result.run_id)
        assert run is not None
        assert "premises: snapshot deletions withheld" in str(run["note"])

        # With a clean feed again, the next full sync reconciles: the cache equals the sandbox.
        admin.clear_faults()
        clean = run_sync(cache, client, mode="full")
        assert clean.ok, clean.error
        assert clean.entities["premises"].deleted >= len(withdrawn["premises"])
        assert_cache_equals_sandbox(cache, fresh_sandbox, sample=80)
