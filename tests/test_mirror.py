"""The cache's read-only mirror of the users directory (`kontur.mirror`), and the cache's tables of the
older layout retired once the store recorded their move (`kontur.runtime.retire_moved_tables`), on a
real DuckDB file and the operational store on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from kontur.cache import Cache
from kontur.cache.migrations import retired_rows
from kontur.mirror import DirectoryMirror
from kontur.queries.people import name_sql
from kontur.runtime import retire_moved_tables
from kontur.store import legacy
from kontur.store import users as store_users
from kontur.store.db import Store
from tests.store import factories, legacy_cache
from tests.support import ops_store
from tests.support.waiting import eventually


@pytest.fixture(params=ops_store.BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with Store.open(ops_store.store_url(request, tmp_path)) as opened:
        yield opened


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Cache]:
    with Cache(tmp_path / "kontur.duckdb") as opened:
        yield opened


def mirrored(cache: Cache) -> dict[int, tuple]:
    with cache.reader() as cur:
        rows = cur.execute(
            "SELECT id, last_name, first_name, role, status, agency_id FROM directory_mirror"
        ).fetchall()
    return {int(r[0]): tuple(r[1:]) for r in rows}


def save(store: Store, *people: object) -> None:
    with store.write() as tx:
        store_users.upsert_users(tx, people, by="test")  # type: ignore[arg-type]


def test_the_mirror_copies_the_directory_when_it_changed(store: Store, cache: Cache) -> None:
    save(store, factories.user(1, role="MANAGER", agency_id=None), factories.user(2))
    changes: list[int] = []
    mirror = DirectoryMirror(store, cache, on_change=lambda: changes.append(1))
    assert mirror.refresh()
    assert mirrored(cache) == {
        1: ("Петрова", "Анна1", "MANAGER", "active", None),
        2: ("Петрова", "Анна2", "AGENT", "active", 10),
    }
    assert not mirror.refresh()  # nothing changed: nothing written
    assert changes == [1]

    save(store, factories.user(2, lastName="Сидорова", status="blocked"), factories.user(3))
    assert mirror.refresh()
    assert mirrored(cache)[2] == ("Сидорова", "Анна2", "AGENT", "blocked", 10)
    assert set(mirrored(cache)) == {1, 2, 3}
    # The analytics joins read names from it.
    with cache.reader() as cur:
        expr, join = name_sql(cur, "u", "x.id", "Агент #")
        names = cur.execute(
            f"SELECT x.id, {expr} FROM (SELECT unnest([2, 77]) AS id) x {join} ORDER BY x.id"  # noqa: S608
        ).fetchall()
    assert names == [(2, "Сидорова Анна2"), (77, "Агент #77")]


def test_the_mirror_follows_other_processes_on_its_period(store: Store, cache: Cache) -> None:
    mirror = DirectoryMirror(store, cache, every=0.2)
    mirror.refresh()
    mirror.start()
    try:
        # Another replica (its own engine on the same database) adds someone.
        with Store.open(store.engine.url.render_as_string(hide_password=False)) as other:
            save(other, factories.user(41, firstName="Реплика"))
        eventually(lambda: 41 in mirrored(cache), what="the mirror picked up another replica's user")
    finally:
        mirror.stop()
    assert mirrored(cache)[41][1] == "Реплика"


def test_older_tables_are_dropped_only_once_moved(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with Cache(path) as old:
        con = old.cursor()
        legacy_cache.upsert(con, "users", [factories.user(5)])
        legacy_cache.upsert(con, "bookings", [factories.booking(9001, 5)])
        con.close()
        # Not moved (e.g. the move at start was put off): the rows stay where they are.
        assert not retire_moved_tables(old, store)
        with old.reader() as cur:
            assert retired_rows(cur) == 2
    legacy.move_at_start(store, path)  # what the runtime does before opening the cache
    with Cache(path) as reopened:
        assert retire_moved_tables(reopened, store)
        with reopened.reader() as cur:
            assert retired_rows(cur) == 0
            with pytest.raises(duckdb.CatalogException):
                cur.execute("SELECT count(*) FROM bookings")
    with store.read() as tx:
        assert store_users.get_user(tx, 5) is not None


def test_an_empty_file_of_the_older_layout_is_tidied_at_once(store: Store, cache: Cache) -> None:
    assert retire_moved_tables(cache, store)
    with cache.reader() as cur:
        tables = {r[0] for r in cur.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert not tables & {"users", "actions", "bookings", "visits", "clients", "agencies"}
    assert "directory_mirror" in tables
