"""`kontur consume` as a real process: SIGKILLed mid-stream and restarted ends with the same cache and
no duplicate rows; SIGTERM shuts it down cleanly; the dashboard's background thread does the same."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import duckdb
import pytest

from kontur.cache import Cache
from kontur.kafka.background import BackgroundConsumer
from kontur.kafka.ingest import KafkaIngest
from kontur.kafka.lag import live_lag
from kontur.kafka.options import ConsumeOptions, ConsumeStats
from tests.support.waiting import eventually

from .conftest import KafkaWorld, duplicate_ids, table_differences, topic_end_offsets
from .helpers import consume_to_end

REPO = Path(__file__).resolve().parents[2]


def _consume_process(world: KafkaWorld, group: str, path: Path, *extra: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "BRUSNIKA_"))}
    return subprocess.Popen(
        [sys.executable, "-m", "kontur", "consume", "--cache", str(path), "--bootstrap", world.bootstrap,
         "--group", group, *extra],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip


def _read_until(proc: subprocess.Popen[str], prefix: str, count: int) -> list[str]:
    """Lines of the process's output until `count` of them start with `prefix` (or it exits)."""
    assert proc.stdout is not None
    lines, seen = [], 0
    for line in proc.stdout:
        lines.append(line)
        if line.startswith(prefix):
            seen += 1
            if seen >= count:
                break
    return lines


def _runs(path: Path) -> list[tuple[str, str, str | None]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT transport, status, error FROM sync_runs ORDER BY id").fetchall()
    finally:
        con.close()


def test_killed_mid_batch_and_restarted_ends_with_the_same_cache(
    kafka_world: KafkaWorld, tmp_path: Path
) -> None:
    path = tmp_path / "kafka.duckdb"
    group = "t-crash"
    # Small batches: the process is almost always inside one when the kill lands.
    first = _consume_process(kafka_world, group, path, "--batch", "300", "--linger", "0.2")
    try:
        lines = _read_until(first, "batch:", 4)
        assert sum(line.startswith("batch:") for line in lines) == 4, lines
        os.killpg(first.pid, signal.SIGKILL)
    finally:
        first.wait(timeout=30)
        assert first.stdout is not None
        first.stdout.close()
    assert first.returncode == -signal.SIGKILL
    # Killed before the end: the group has not committed everything.
    assert sum(t.lag for t in live_lag(kafka_world.settings(group))) > 0

    second = _consume_process(kafka_world, group, path, "--until-caught-up", "--quiet")
    out, _ = second.communicate(timeout=300)
    assert second.returncode == 0, out
    assert "stopped by caught up" in out

    assert table_differences(path, kafka_world.reference) == {}
    assert duplicate_ids(path) == {}
    runs = _runs(path)
    assert [(t, s) for t, s, _ in runs] == [("kafka", "failed"), ("kafka", "succeeded")]
    assert "interrupted" in (runs[0][2] or "")
    assert "batches it committed before that are in the cache" in (runs[0][2] or "")
    assert all(t.lag == 0 for t in live_lag(kafka_world.settings(group)))


def test_sigterm_finishes_the_batch_and_exits_cleanly(kafka_world: KafkaWorld, tmp_path: Path) -> None:
    path = tmp_path / "kafka.duckdb"
    proc = _consume_process(kafka_world, "t-term", path, "--batch", "500")
    try:
        lines = _read_until(proc, "batch:", 2)
        assert sum(line.startswith("batch:") for line in lines) == 2, lines
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    assert proc.returncode == 0, rest
    assert "stopped by signal SIGTERM" in rest
    assert _runs(path) == [("kafka", "succeeded", None)]
    # What it applied before stopping is exactly what it committed to the group.
    con = duckdb.connect(str(path), read_only=True)
    try:
        applied = con.execute("SELECT sum(next_offset) FROM kafka_offsets").fetchone()
    finally:
        con.close()
    committed = sum(t.committed for t in live_lag(kafka_world.settings("t-term")))
    assert applied is not None
    assert applied[0] == committed > 0


def test_background_consumer_feeds_the_process_cache(kafka_world: KafkaWorld, tmp_path: Path) -> None:
    path = tmp_path / "kafka.duckdb"
    batches: list[int] = []
    with Cache(path) as cache:
        background = BackgroundConsumer(
            cache,
            kafka_world.settings("t-background", path),
            on_batch=lambda batch: batches.append(batch.messages),
            options=ConsumeOptions(linger=0.2),
        )
        background.start()
        end = topic_end_offsets(kafka_world.bootstrap)

        def all_applied() -> bool:
            assert background.status().state != "restarting", background.status()
            # A reader of the same process meanwhile sees committed batches only (never a partial one).
            with cache.reader() as reader:
                reader.execute("SELECT count(*) FROM premises").fetchone()
            return sum(batches) >= end

        eventually(all_applied, timeout=120, what="every message applied", describe=background.status)
        assert background.stop(timeout=60)
        assert background.error is None
        assert sum(batches) == end
        assert background.stats.stopped_by == "stop requested"
    assert table_differences(path, kafka_world.reference) == {}
    assert _runs(path) == [("kafka", "succeeded", None)]


def test_a_failure_while_staging_fails_the_run_cleanly_and_the_next_session_recovers(
    kafka_world: KafkaWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stage thread's error reaches the applier: the run fails with it (no hang, threads and
    Stagings closed, the run marked failed), batches applied before stay, and the next session on
    the same cache ends equal to the sandbox with no duplicates."""
    path = tmp_path / "kafka.duckdb"
    real_stage = KafkaIngest.stage
    calls: list[int] = []

    def failing_stage(self: KafkaIngest, staging: Any, fetched: Any) -> list[str]:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("staging failed on purpose")
        return real_stage(self, staging, fetched)

    monkeypatch.setattr(KafkaIngest, "stage", failing_stage)
    outcome: list[BaseException | ConsumeStats] = []
    with Cache(path) as cache:
        ingest = KafkaIngest(
            cache,
            kafka_world.settings("t-stage-fail", path),
            options=ConsumeOptions(batch_max=500, until_caught_up=True),
        )

        def run() -> None:
            try:
                outcome.append(ingest.run(threading.Event()))
            except BaseException as exc:  # the test looks at it
                outcome.append(exc)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(timeout=120)
        assert not thread.is_alive(), "the run hung after the stage thread failed"
        # The session's batch files and Staging directories are gone (checked before the cache
        # closes, which would clear them anyway).
        assert not list(cache.staging_dir.glob("run-*"))
    assert len(outcome) == 1
    assert isinstance(outcome[0], RuntimeError), outcome
    assert "staging failed on purpose" in str(outcome[0])
    assert ingest.stats.stopped_by == "error"
    assert ingest.stats.batches == 2  # the two staged before the failure were applied, no more
    runs = _runs(path)
    assert [(t, s) for t, s, _ in runs] == [("kafka", "failed")]
    assert "staging failed on purpose" in (runs[0][2] or "")

    monkeypatch.setattr(KafkaIngest, "stage", real_stage)
    stats = consume_to_end(kafka_world, "t-stage-fail", path)
    assert stats.stopped_by == "caught up"
    assert table_differences(path, kafka_world.reference) == {}
    assert duplicate_ids(path) == {}
