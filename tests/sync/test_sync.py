"""REST sync against the real sandbox over HTTP into a real DuckDB file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import orjson

from kontur.cache import Cache
from kontur.client import BrusnikaClient
from kontur.models import ENTITIES
from kontur.sandbox.server import RunningSandbox
from kontur.sync import EntityProgress, run_sync
from tests.support.transport import CountingTransport
from tests.support.waiting import eventually

from .conftest import (
    FAST_RETRY,
    assert_cache_equals_sandbox,
    client_for,
    open_cache,
    table_fingerprints,
)

REPO = Path(__file__).resolve().parents[2]


def test_full_sync_equals_the_sandbox(sandbox: RunningSandbox, tmp_path: Path) -> None:
    reports: list[EntityProgress] = []
    with open_cache(tmp_path) as cache, client_for(sandbox) as client:
        result = run_sync(cache, client, progress=reports.append, page_limit=500)
        assert result.ok, result.error
        assert set(result.modes.values()) == {"full"}
        truth = assert_cache_equals_sandbox(cache, sandbox)
        for entity in ENTITIES:
            counts = result.entities[entity]
            assert counts.loaded == counts.received == len(truth[entity])
            assert counts.rejected == 0
        run = cache.run(result.run_id)
        assert run is not None
        assert (run["status"], run["mode"], run["loaded"]) == ("succeeded", "full", result.loaded)
        # The high-water mark is the newest updated_at seen, per entity.
        states = cache.entity_states()
        for entity in ENTITIES:
            newest = max(truth[entity], key=lambda r: r["updated_at"])["updated_at"]
            assert states[entity].high_water is not None
            assert (
                states[entity].high_water.isoformat().replace("+00:00", "Z")[:19]
                == (_as_utc_text(newest)[:19])
            )
    assert {r.entity for r in reports if r.done} == set(ENTITIES)


def _as_utc_text(wire_timestamp: str) -> str:
    from datetime import UTC, datetime

    return datetime.fromisoformat(wire_timestamp).astimezone(UTC).isoformat().replace("+00:00", "Z")


def test_drift_then_incremental_equals_the_sandbox_again(
    fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    admin = fresh_sandbox.admin()
    with open_cache(tmp_path) as cache, client_for(fresh_sandbox) as client:
        assert run_sync(cache, client).ok
        before = {e: {r["id"] for r in admin.records(e)} for e in ENTITIES}
        admin.drift(400, seed=1)
        after = {e: {r["id"] for r in admin.records(e)} for e in ENTITIES}
        withdrawn = {e: before[e] - after[e] for e in ENTITIES}
        assert any(withdrawn.values()), "drift should withdraw something for this test to mean anything"

        result = run_sync(cache, client)
        assert result.ok, result.error
        assert set(result.modes.values()) == {"incremental"}
        assert_cache_equals_sandbox(cache, fresh_sandbox, sample=80)
        assert sum(c.deleted for c in result.entities.values()) == sum(len(w) for w in withdrawn.values())
        # Incremental reads changes only, not the whole feed again.
        assert result.received < sum(len(ids) for ids in after.values())

        # Nothing changed since: the next incremental run applies nothing.
        again = run_sync(cache, client)
        assert again.ok
        assert again.loaded == 0


def test_malformed_records_are_kept_aside_and_the_rest_loads(
    fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    admin = fresh_sandbox.admin()
    admin.set_faults(malformed=0.02)
    with open_cache(tmp_path) as cache, client_for(fresh_sandbox) as client:
        result = run_sync(cache, client, page_limit=200)
        assert result.ok, result.error
        cur = cache.reader()
        rejected = cur.execute(
            "SELECT entity, source, record_id, raw, reason FROM rejected_records WHERE run_id = ?",
            [result.run_id],
        ).fetchall()
        assert len(rejected) == sum(c.rejected for c in result.entities.values()) > 0
        for entity, source, _record_id, raw, reason in rejected:
            assert entity in ENTITIES
            assert source.startswith(f"GET /{entity} page ")
            assert reason
            assert isinstance(orjson.loads(raw), dict)
        for entity in ENTITIES:
            truth = admin.records(entity)
            counts = result.entities[entity]
            # Every record is either in the cache or kept aside: nothing is lost.
            assert counts.loaded + counts.rejected == len(truth), entity
        # The good ones are exactly the sandbox's records (field-level), minus the rejected ids.
        rejected_ids: dict[str, set[int]] = {e: set() for e in ENTITIES}
        for entity, _source, _record_id, raw, _reason in rejected:
            rid = orjson.loads(raw).get("id")
            if isinstance(rid, int):
                rejected_ids[entity].add(rid)
            else:  # the id itself was broken ("id-123"): recover it to know which record it was
                rejected_ids[entity].add(int(str(rid).removeprefix("id-")))
        assert_cache_equals_sandbox(cache, fresh_sandbox, except_ids=rejected_ids)


def test_rejected_share_over_the_threshold_fails_the_run_and_changes_nothing(
    fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    with open_cache(tmp_path) as cache, client_for(fresh_sandbox) as client:
        assert run_sync(cache, client).ok
        before = table_fingerprints(cache)
        fresh_sandbox.admin().set_faults(malformed=0.2)
        result = run_sync(cache, client, mode="full")
        assert not result.ok
        assert "threshold" in (result.error or "")
        assert table_fingerprints(cache) == before
        run = cache.run(result.run_id)
        assert run is not None
        assert run["status"] == "failed"


def test_server_failure_mid_sync_leaves_the_previous_cache_intact(
    fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    admin = fresh_sandbox.admin()
    with open_cache(tmp_path) as cache, client_for(fresh_sandbox) as client:
        assert run_sync(cache, client).ok
        before = table_fingerprints(cache)
        admin.drift(300, seed=2)
        broken = threading.Event()

        def break_after_first_batch(p: EntityProgress) -> None:
            # Some pages are already staged when the server starts failing every request.
            if p.pages and not broken.is_set():
                broken.set()
                admin.set_faults(server_error=1.0)

        result = run_sync(
            cache, client, mode="full", progress=break_after_first_batch, page_limit=50, batch_pages=2
        )
        assert broken.is_set()
        assert not result.ok
        assert (
            "Unavailable" in (result.error or "")
            or "503" in (result.error or "")
            or "500" in (result.error or "")
        )
        assert table_fingerprints(cache) == before
        run = cache.run(result.run_id)
        assert run is not None
        assert run["status"] == "failed"
        assert run["error"] == result.error
        # Still queryable, and a later run once the server is back repairs everything.
        admin.clear_faults()
        assert run_sync(cache, client).ok
        assert_cache_equals_sandbox(cache, fresh_sandbox)


def test_sync_under_5pct_503_and_429_ends_like_a_clean_one(
    fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    with open_cache(tmp_path, "clean.duckdb") as clean, client_for(fresh_sandbox) as client:
        assert run_sync(clean, client, page_limit=100).ok
        expected = table_fingerprints(clean)
    fresh_sandbox.admin().set_faults(server_error=0.05, rate_limit=0.05, retry_after=1)
    transport = CountingTransport()
    client = BrusnikaClient(base_url=fresh_sandbox.api_url, token=fresh_sandbox.token, transport=transport,
                            retry=FAST_RETRY)  # fmt: skip
    with open_cache(tmp_path, "faulty.duckdb") as faulty, client:
        # Small pages: ~300 requests, so each fault kind is all but certain to be met (P(no 429) < 1e-6).
        result = run_sync(faulty, client, page_limit=25)
        assert result.ok, result.error
        assert table_fingerprints(faulty) == expected
    # The faults really happened and were retried through.
    assert transport.statuses[429] > 0
    assert transport.statuses[500] + transport.statuses[503] > 0


def test_readers_keep_answering_while_a_sync_writes(fresh_sandbox: RunningSandbox, tmp_path: Path) -> None:
    admin = fresh_sandbox.admin()
    with open_cache(tmp_path) as cache, client_for(fresh_sandbox) as client:
        assert run_sync(cache, client).ok
        old_count = _premise_join_count(cache)
        admin.drift(300, seed=3)
        admin.set_faults(latency_ms=20)  # stretch the sync so the reader overlaps it
        seen: list[int] = []
        errors: list[BaseException] = []
        stop = threading.Event()

        def reader() -> None:
            cur = cache.reader()
            try:
                while not stop.is_set():
                    row = cur.execute(
                        "SELECT count(*) FROM premises p JOIN buildings b ON b.id = p.building_id"
                    ).fetchone()
                    seen.append(int(row[0]) if row else -1)
            except BaseException as exc:
                errors.append(exc)
            finally:
                cur.close()

        thread = threading.Thread(target=reader)
        thread.start()
        try:
            result = run_sync(cache, client, mode="full", page_limit=100)
        finally:
            stop.set()
            thread.join()
        assert result.ok, result.error
        assert not errors
        assert len(seen) > 10
        # A reader only ever sees the state before or after the run, never a half-applied one.
        new_count = _premise_join_count(cache)
        assert old_count != new_count
        assert set(seen) <= {old_count, new_count}
        assert old_count in seen


def _premise_join_count(cache: Cache) -> int:
    cur = cache.reader()
    try:
        row = cur.execute(
            "SELECT count(*) FROM premises p JOIN buildings b ON b.id = p.building_id"
        ).fetchone()
        return int(row[0]) if row else -1
    finally:
        cur.close()


def test_killed_sync_leaves_the_previous_cache_intact(fresh_sandbox: RunningSandbox, tmp_path: Path) -> None:
    path = tmp_path / "kontur.duckdb"
    with Cache(path) as cache, client_for(fresh_sandbox) as client:
        assert run_sync(cache, client).ok
        before = table_fingerprints(cache)
    admin = fresh_sandbox.admin()
    admin.drift(300, seed=4)
    admin.set_faults(latency_ms=30)
    env = {
        **os.environ,
        "BRUSNIKA_API_URL": fresh_sandbox.api_url,
        "BRUSNIKA_API_TOKEN": fresh_sandbox.token,
        "PYTHONPATH": str(REPO),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kontur",
            "sync",
            "--full",
            "--cache",
            str(path),
            "--page-size",
            "50",
            "--quiet",
        ],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    staging = path.with_name(path.name + ".staging")
    try:

        def writing_pages() -> bool:
            # Mid-way: the run has started writing pages (and has not finished: latency keeps it going).
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            return any(staging.glob("run-*/*.json"))

        eventually(writing_pages, interval=0.02, what="the sync started writing pages")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with Cache(path) as cache:
        assert table_fingerprints(cache) == before
        cur = cache.reader()
        status, error = cur.execute("SELECT status, error FROM sync_runs ORDER BY id DESC LIMIT 1").fetchone()
        assert status == "failed"
        assert "interrupted" in error
        assert not staging.exists()


def test_cli_sync_prints_a_summary_and_refuses_a_locked_cache(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    path = tmp_path / "kontur.duckdb"
    env = {
        **os.environ,
        "BRUSNIKA_API_URL": sandbox.api_url,
        "BRUSNIKA_API_TOKEN": sandbox.token,
        "PYTHONPATH": str(REPO),
        "COLUMNS": "160",
    }
    cmd = [
        sys.executable,
        "-m",
        "kontur",
        "sync",
        "--cache",
        str(path),
        "--entity",
        "cities",
        "--entity",
        "projects",
    ]
    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "succeeded" in done.stdout
    assert "cities" in done.stdout
    assert "projects" in done.stdout
    assert sandbox.token not in done.stdout + done.stderr

    with Cache(path):  # this process now holds the file; the CLI must fail, not wait (timeout = hang)
        locked = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
        assert locked.returncode == 3
        assert f"process {os.getpid()}" in " ".join(locked.stderr.split())


def test_an_older_record_arriving_after_a_newer_one_is_ignored(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    from kontur.load import Staging

    with open_cache(tmp_path) as cache, client_for(sandbox) as client:
        assert run_sync(cache, client, entities=["premises"]).ok
        mark = cache.entity_states()["premises"].high_water
        wire = sandbox.admin().records("premises")[0]
        older = {**wire, "price": wire["price"] + 1, "updated_at": "2001-01-01T00:00:00+00:00"}
        run_id = cache.start_run("rest", "incremental")
        with Staging(cache, run_id) as staging:
            staging.add_items("premises", [orjson.dumps(older)], ["test"])
            counts = staging.commit({"premises": "incremental"})
        assert counts["premises"].ignored_older == 1
        cur = cache.reader()
        assert cur.execute("SELECT price FROM premises WHERE id = ?", [wire["id"]]).fetchone() == (
            wire["price"],
        )
        # And the high-water mark did not go back.
        assert cache.entity_states()["premises"].high_water == mark
