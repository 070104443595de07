"""The cache file: schema and migrations, the single-writer lock, recovery after a dead run."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kontur.cache import LOCAL_TABLES, MIGRATIONS, Cache, CacheLockedError
from kontur.schema import COLUMNS, TABLES


def _columns(cache: Cache, table: str) -> list[tuple[str, str]]:
    cur = cache.reader()
    try:
        return [
            (name, dtype)
            for name, dtype in cur.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = ? ORDER BY ordinal_position",
                [table],
            ).fetchall()
        ]
    finally:
        cur.close()


def test_new_file_gets_every_table_at_the_latest_version(tmp_path: Path) -> None:
    with Cache(tmp_path / "sub" / "k.duckdb") as cache:
        assert cache.schema_version() == MIGRATIONS[-1][0]
        for entity, table in TABLES.items():
            assert [name for name, _ in _columns(cache, table)] == [name for name, _ in COLUMNS[entity]]
        assert dict(_columns(cache, "premises"))["price"] == "BIGINT"
        assert dict(_columns(cache, "cities"))["lat"] == "DOUBLE"
        for table, columns in LOCAL_TABLES.items():
            assert [name for name, _ in _columns(cache, table)] == [name for name, _ in columns]
        for table in ("sync_runs", "sync_run_entities", "sync_state", "rejected_records", "actions",
                      "kafka_offsets"):  # fmt: skip
            assert _columns(cache, table), table


def test_reopening_does_not_migrate_twice_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "k.duckdb"
    with Cache(path) as cache:
        cur = cache.cursor()
        cur.execute("INSERT INTO cities VALUES (1, 'Тюмень', 65.5, 57.1, now())")
        cur.close()
    with Cache(path) as cache:
        cur = cache.reader()
        assert cur.execute("SELECT count(*) FROM schema_version").fetchone() == (len(MIGRATIONS),)
        assert cur.execute("SELECT name FROM cities").fetchall() == [("Тюмень",)]


def test_file_held_by_another_process_fails_at_once_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "k.duckdb"
    Cache(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, duckdb
                con = duckdb.connect({str(path)!r})
                print("holding", flush=True)
                sys.stdin.read()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(CacheLockedError) as caught:
            Cache(path)
        message = str(caught.value)
        assert str(path) in message
        assert f"process {holder.pid}" in message
        assert "KONTUR_CACHE_PATH" in message
    finally:
        holder.kill()
        holder.wait()
    # Once the holder is gone the file opens normally.
    Cache(path).close()


def test_a_run_left_running_by_a_dead_process_is_marked_failed_and_staging_cleaned(tmp_path: Path) -> None:
    path = tmp_path / "k.duckdb"
    with Cache(path) as cache:
        run_id = cache.start_run("rest", "full")
        leftover = cache.staging_dir / f"run-{run_id}"
        leftover.mkdir(parents=True)
        (leftover / "0.json").write_text("{}")
    with Cache(path) as cache:
        run = cache.run(run_id)
        assert run is not None
        assert run["status"] == "failed"
        assert "interrupted" in str(run["error"])
        assert "left as before the run" in str(run["error"])
        assert run["finished_at"] is not None
        assert not cache.staging_dir.exists()


def test_an_interrupted_kafka_session_is_not_said_to_have_left_the_cache_untouched(tmp_path: Path) -> None:
    # A Kafka session commits batch by batch: what it applied before the kill stays (and is right).
    path = tmp_path / "k.duckdb"
    with Cache(path) as cache:
        rest_id = cache.start_run("rest", "incremental")
        kafka_id = cache.start_run("kafka", "incremental")
    with Cache(path) as cache:
        kafka_run, rest_run = cache.run(kafka_id), cache.run(rest_id)
        assert kafka_run is not None
        assert rest_run is not None
        assert kafka_run["status"] == rest_run["status"] == "failed"
        assert "left as before the run" not in str(kafka_run["error"])
        assert "batches it committed before that are in the cache" in str(kafka_run["error"])
        assert "left as before the run" in str(rest_run["error"])


def test_a_cache_made_before_kafka_offsets_was_a_migration_gets_it_and_keeps_its_rows(tmp_path: Path) -> None:
    # The first Kafka consumer created kafka_offsets itself, outside the migrations: such a file
    # migrates to the latest version without losing the recorded offsets.
    import duckdb

    path = tmp_path / "old.duckdb"
    with Cache(path) as cache:
        pass
    con = duckdb.connect(str(path))
    con.execute("DELETE FROM schema_version WHERE version >= 3")
    con.execute(
        'INSERT INTO kafka_offsets (group_id, topic, "partition", next_offset, updated_at) '
        "VALUES ('g', 'brusnika.leads', 0, 42, current_timestamp)"
    )
    con.close()
    with Cache(path) as cache:
        assert cache.schema_version() == MIGRATIONS[-1][0]
        cur = cache.reader()
        try:
            assert cur.execute("SELECT next_offset FROM kafka_offsets").fetchall() == [(42,)]
        finally:
            cur.close()
