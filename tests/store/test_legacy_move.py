"""Moving a DuckDB cache of the older layout into the store: built with the real `kontur.cache.Cache`
and written as the code before the operational store wrote it (`tests/store/legacy_cache.py`: its
local upserts, its audit rows, the directory), then moved and compared row by row, on both backends;
a second move copies nothing; bad rows are kept aside."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa

from kontur.cache import Cache
from kontur.models import User
from kontur.sandbox.server import RunningSandbox
from kontur.store import bookings, legacy, schema, users
from kontur.store.db import Store
from tests.store import legacy_cache
from tests.store.factories import agency, booking, client, visit

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
SECRET = "s3cr3t-token-value"


@pytest.fixture(scope="module")
def directory(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    """The sandbox's users directory, as the demo dashboard seeds it into the cache today."""
    rows = sandbox.admin().users()
    assert len(rows) > 20
    return rows


def build_cache(path: Path, directory: list[dict[str, Any]]) -> None:
    """A cache file written the way the code before the store wrote it."""
    with Cache(path) as cache:
        con = cache.cursor()
        try:
            legacy_cache.upsert(con, "users", [User.model_validate(row) for row in directory])
            agent = User.model_validate(directory[1])
            a = agent.id
            legacy_cache.upsert(con, "agencies", [agency(7001), agency(7002, inn="500100732259")])
            legacy_cache.upsert(con, "clients", [client(8001, a), client(8002, a, fullname="Петрова Мария")])
            legacy_cache.booking_created(con, booking(9001, a))
            legacy_cache.booking_created(con, booking(9002, a, premise_id=4242))
            legacy_cache.upsert(con, "bookings", [booking(9002, a, premise_id=4242, status="fail")])
            legacy_cache.upsert(con, "visits", [visit(9501, a)])
            legacy_cache.upsert(con, "visits", [visit(9502, a, time_slot_id=None)])

            def act(action: str, outcome: str, brusnika_id: int | None, at: dt.datetime, **req: Any) -> None:
                legacy_cache.action(
                    con,
                    user_id=a,
                    user_name=f"{agent.last_name} {agent.first_name}",
                    action=action,
                    request=req,
                    outcome=outcome,
                    brusnika_id=brusnika_id,
                    message="" if outcome == "success" else "Помещение уже забронировано",
                    at=at,
                )

            act("create_booking", "success", 9001, T0, premise_id=1001, agent_id=a, idempotency_key="k" * 32)
            act("create_booking", "refused", None, T0 + dt.timedelta(minutes=1), premise_id=1001, agent_id=a)
            act(
                "create_client",
                "success",
                8001,
                T0 + dt.timedelta(minutes=2),
                fullname="Сидоров",
                agent_id=a,
                api_token=SECRET,
            )
            # Two identical rows (a double write at one instant): both must survive the move.
            act("create_agency", "success", 7001, T0 + dt.timedelta(minutes=3), inn="7707083893")
            act("create_agency", "success", 7001, T0 + dt.timedelta(minutes=3), inn="7707083893")
            # A row from before cache migration 2: no actor_id column value, the id only in `actor`.
            con.execute(
                'INSERT INTO actions ("at", actor, action, request, outcome, brusnika_id, error)'
                " VALUES (?, 'Старый Пользователь (#12)', 'create_visit', '{\"agent_id\": 12}', 'failed',"
                " NULL, 'Брусника не ответила')",
                [T0 - dt.timedelta(days=3)],
            )
            # Bad rows today's tables can hold: an unknown role; an older duplicate of a booking id.
            con.execute(
                "INSERT INTO users (id, last_name, first_name, phone, email, status, role,"
                " remaining_user_creation_limit, recorded_at) VALUES (999001, 'Плохой', 'Роль', '',"
                " 'bad@kontur.example', 'active', 'SUPERUSER', 0, ?)",
                [T0],
            )
            con.execute(
                "INSERT INTO bookings (id, premise_id, client_id, agent_id, date, time, purchase_option,"
                " status, recorded_at) VALUES (9001, 1001, 500, ?, DATE '2026-12-01', '10:00', 'bill',"
                " 'open', ?)",
                [a, T0 - dt.timedelta(days=1)],
            )
        finally:
            con.close()


def cache_rows(path: Path, table: str) -> list[dict[str, Any]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        rel = con.execute(f"SELECT * FROM {table} ORDER BY id")  # noqa: S608 - test constant
        names = [d[0] for d in rel.description]
        return [dict(zip(names, row, strict=True)) for row in rel.fetchall()]
    finally:
        con.close()


def store_rows(store: Store, table: sa.Table) -> list[dict[str, Any]]:
    with store.read() as tx:
        query = sa.select(table).order_by(*table.primary_key.columns)
        return [dict(r) for r in tx.execute(query).mappings()]


@pytest.fixture
def cache_file(tmp_path: Path, directory: list[dict[str, Any]]) -> Path:
    path = tmp_path / "kontur.duckdb"
    build_cache(path, directory)
    return path


def test_every_row_is_copied_field_by_field(store: Store, cache_file: Path, directory: list[dict]) -> None:
    report = legacy.move_from_cache(store, cache_file)

    # users: every sandbox user, every field; the bad one kept aside
    source_users = [r for r in cache_rows(cache_file, "users") if r["id"] != 999001]
    moved_users = store_rows(store, schema.users)
    assert len(moved_users) == len(directory) == len(source_users)
    for src, dst in zip(source_users, moved_users, strict=True):
        for column in users.WIRE_COLUMNS:
            assert dst[column] == src[column], (src["id"], column)
        assert dst["email_key"] == src["email"].strip().lower()
        assert dst["created_at"] == src["recorded_at"]
        assert dst["updated_by"] == legacy.MOVED_BY

    # records: the newest row per id, every column; who recorded it comes from the audit
    creator = User.model_validate(directory[1]).id
    for table, target in (
        ("agencies", schema.agencies),
        ("clients", schema.clients),
        ("bookings", schema.bookings),
        ("visits", schema.visits),
    ):
        source = {r["id"]: r for r in sorted(cache_rows(cache_file, table), key=lambda r: r["recorded_at"])}
        moved = store_rows(store, target)
        assert [r["id"] for r in moved] == sorted(source), table
        for dst in moved:
            src = source[dst["id"]]
            for column, value in src.items():
                if column != "recorded_at":
                    assert dst[column] == value, (table, dst["id"], column)
            assert dst["recorded_at"] == src["recorded_at"]
            assert dst["updated_at"] == src["recorded_at"]
    recorders = {
        (t.name, r["id"]): r["recorded_by"]
        for t in (schema.agencies, schema.clients, schema.bookings)
        for r in store_rows(store, t)
    }
    assert recorders[("bookings", 9001)] == creator
    assert recorders[("clients", 8001)] == creator
    assert recorders[("agencies", 7001)] == creator
    assert recorders[("bookings", 9002)] is None  # no audit row names it
    assert recorders[("clients", 8002)] is None
    with store.read() as tx:
        cancelled = bookings.get_booking(tx, 9002)
        kept = bookings.get_booking(tx, 9001)
    assert cancelled is not None
    assert cancelled.record.status.value == "fail"
    assert kept is not None
    assert kept.record.time == "14:30"  # the newer of the two 9001 rows

    # actions: all of them, in order, with the request parsed and the message from `error`
    source_actions = cache_rows(cache_file, "actions")
    moved_actions = store_rows(store, schema.actions)
    assert len(moved_actions) == len(source_actions) == 6
    by_time = sorted(source_actions, key=lambda r: (r["at"], r["id"]))
    for src, dst in zip(by_time, sorted(moved_actions, key=lambda r: (r["at"], r["id"])), strict=True):
        assert (
            dst["at"],
            dst["actor"],
            dst["action"],
            dst["outcome"],
            dst["brusnika_id"],
            dst["message"],
        ) == (src["at"], src["actor"], src["action"], src["outcome"], src["brusnika_id"], src["error"])
        assert dst["request"] == json.loads(src["request"])
        assert dst["actor_id"] == (src["actor_id"] if src["actor_id"] is not None else 12)
        assert dst["on_behalf_of"] == json.loads(src["request"]).get("agent_id")
    keyed = [r for r in moved_actions if r["idempotency_key"] is not None]
    assert [r["idempotency_key"] for r in keyed] == ["k" * 32]
    assert SECRET not in json.dumps([r["request"] for r in moved_actions])

    # the report adds up; rejects are kept with their reasons
    for table, counts in report.tables.items():
        assert counts.read == counts.copied + counts.present + counts.rejected, table
        assert counts.present == 0, table
    assert report.tables["users"].rejected == 1
    assert report.tables["bookings"].rejected == 1
    rejects = {
        (r["source_table"], r["raw"]["id"]): r["reason"] for r in store_rows(store, schema.cache_move_rejects)
    }
    assert set(rejects) == {("users", 999001), ("bookings", 9001)}
    assert "role" in rejects[("users", 999001)]
    assert "older copy of id 9001" in rejects[("bookings", 9001)]


def test_moved_bookings_are_already_counted_against_the_quota(
    store: Store, cache_file: Path, directory: list[dict]
) -> None:
    agent_id = User.model_validate(directory[1]).id
    legacy.move_from_cache(store, cache_file)
    with store.read() as tx:
        before = users.get_user(tx, agent_id)
    with store.write() as tx:
        replay = bookings.booking_created(tx, booking(9001, agent_id), recorded_by=agent_id)
    with store.read() as tx:
        after = users.get_user(tx, agent_id)
    assert replay.quota_decremented is False
    assert before is not None
    assert after is not None
    assert after.user.remaining_user_creation_limit == before.user.remaining_user_creation_limit


def test_a_second_move_copies_nothing_and_overwrites_nothing(store: Store, cache_file: Path) -> None:
    first = legacy.move_from_cache(store, cache_file)
    with store.write() as tx:  # changed in the store since the first move
        bookings.save_bookings(tx, [booking(9001, 1, status="success")], recorded_by=1)
    snapshot = {
        t.name: store_rows(store, t)
        for t in (
            schema.users,
            schema.actions,
            schema.bookings,
            schema.visits,
            schema.clients,
            schema.agencies,
            schema.booking_quota,
            schema.cache_move_rejects,
        )
    }
    second = legacy.move_from_cache(store, cache_file)
    assert second.copied == 0
    assert first.copied > 0
    for table, counts in second.tables.items():
        assert counts.present == first.tables[table].copied, table
        assert counts.rejected == first.tables[table].rejected, table
    for table, rows in snapshot.items():
        assert store_rows(store, getattr(schema, table)) == rows, table
    with store.read() as tx:
        moves = tx.execute(sa.select(schema.cache_moves).order_by(schema.cache_moves.c.id)).mappings().all()
    assert len(moves) == 2
    assert moves[0]["report"]["users"]["copied"] == first.tables["users"].copied


def test_move_at_start_runs_once_per_cache_file(store: Store, cache_file: Path, tmp_path: Path) -> None:
    assert legacy.move_at_start(store, tmp_path / "missing.duckdb") is None
    with Cache(tmp_path / "empty.duckdb"):
        pass
    assert legacy.move_at_start(store, tmp_path / "empty.duckdb") is None  # no local rows
    assert store.is_empty()

    report = legacy.move_at_start(store, cache_file)
    assert report is not None
    assert report.copied > 0
    assert not store.is_empty()
    assert legacy.move_at_start(store, cache_file) is None


def test_move_at_start_leaves_a_cache_held_by_the_process_for_later(store: Store, cache_file: Path) -> None:
    with Cache(cache_file) as cache:
        # The runtime already holds the file read-write: a read-only open of it is refused here.
        assert legacy.move_at_start(store, cache_file) is None
        assert store.is_empty()
        # ... but a move through the process's own connection works.
        report = legacy.move_from_cache(store, cache._con, name=legacy.source_name(cache_file))
    assert report.copied > 0
    assert legacy.move_at_start(store, cache_file) is None  # recorded as moved


def test_a_cache_without_actor_id_moves_too(store: Store, cache_file: Path) -> None:
    """A file from before cache migration 2 has no `actions.actor_id`: the id is read from `actor`."""
    con = duckdb.connect(str(cache_file))
    con.execute("ALTER TABLE actions DROP COLUMN actor_id")
    con.close()
    legacy.move_from_cache(store, cache_file)
    moved = store_rows(store, schema.actions)
    assert len(moved) == 6
    assert all(r["actor_id"] is not None for r in moved)
    # The dashboard then opens the file: cache migration 2 adds and fills actor_id. Moving it again
    # must recognise every row.
    con = duckdb.connect(str(cache_file))
    con.execute("DELETE FROM schema_version WHERE version >= 2")
    con.close()
    with Cache(cache_file):
        pass
    assert all(r["actor_id"] is not None for r in cache_rows(cache_file, "actions"))
    again = legacy.move_from_cache(store, cache_file)
    assert again.tables["actions"].copied == 0
    assert again.tables["actions"].present == 6
