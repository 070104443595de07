"""The load path on pages written here (no server): checks, fallback, upsert rules, atomic commit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from kontur.cache import Cache
from kontur.load import RejectedShareExceeded, Staging


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Cache]:
    with Cache(tmp_path / "k.duckdb") as opened:
        yield opened


def premise(pid: int, **changes: Any) -> dict[str, Any]:
    record = {
        "id": pid,
        "project_id": 1,
        "building_id": 2,
        "section_id": 3,
        "number": str(100 + pid),
        "type": "apartment",
        "rooms": 2,
        "size": 54.3,
        "price": 7_500_000_000,  # over 2**31: must survive as BIGINT
        "floor": 4,
        "feature": ["sign_balcony", "sign_loggia"],
        "photos": ["https://example.test/p.jpg"],
        "is_booked": False,
        "purchase_option": ["mortage", "full_payment"],
        "is_sold": False,
        "updated_at": "2026-01-10T12:00:00+05:00",
    }
    record.update(changes)
    return record


def page(*items: dict[str, Any]) -> bytes:
    return orjson.dumps({"items": list(items), "next_cursor": None})


def load(cache: Cache, mode: str, pages: list[bytes], *, max_share: float = 0.5) -> dict[str, Any]:
    run_id = cache.start_run("rest", mode)
    with Staging(cache, run_id) as staging:
        staging.add_pages("premises", [(p, f"page {n}") for n, p in enumerate(pages, 1)])
        return staging.commit({"premises": mode}, max_rejected_share=max_share)  # type: ignore[dict-item]


def rows(cache: Cache, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    cur = cache.reader()
    try:
        return cur.execute(sql, params or []).fetchall()
    finally:
        cur.close()


def test_good_pages_load_with_types(cache: Cache) -> None:
    counts = load(cache, "full", [page(premise(1), premise(2)), page(premise(3, type="parking", rooms=0))])
    assert counts["premises"].loaded == 3
    assert counts["premises"].rejected == 0
    got = rows(cache, "SELECT id, price, feature, purchase_option, type FROM premises ORDER BY id")
    assert got[0] == (
        1,
        7_500_000_000,
        ["sign_balcony", "sign_loggia"],
        ["mortage", "full_payment"],
        "apartment",
    )
    assert [r[4] for r in got] == ["apartment", "apartment", "parking"]
    state = rows(cache, "SELECT entity, high_water FROM sync_state")
    assert state[0][0] == "premises"
    assert state[0][1].isoformat() == "2026-01-10T07:00:00+00:00"


@pytest.mark.parametrize(
    ("broken", "reason_part"),
    [
        ({"type": "castle"}, "type"),  # enum DuckDB happily stores as VARCHAR
        ({"feature": ["sign_balcony", "sign_jacuzzi"]}, "feature"),  # one bad list item
        ({"rooms": -1}, "rooms"),  # range
        ({"size": -1}, "size"),
        ({"price": "expensive"}, "price"),  # DuckDB cannot cast: the whole page falls back
        ({"updated_at": "2026-01-10T12:00:00"}, "updated_at"),  # no offset
        ({"building_id": None}, "building_id"),  # required
        ({"id": 0}, "id"),
    ],
)
def test_a_malformed_record_is_kept_aside_and_the_rest_of_its_page_loads(
    cache: Cache, broken: dict[str, Any], reason_part: str
) -> None:
    bad = premise(2, **broken)
    counts = load(cache, "full", [page(premise(1), bad, premise(3)), page(premise(4))])
    assert counts["premises"].loaded == 3
    assert counts["premises"].rejected == 1
    assert rows(cache, "SELECT id FROM premises ORDER BY id") == [(1,), (3,), (4,)]
    (rejected,) = rows(cache, "SELECT entity, source, raw, reason FROM rejected_records")
    assert rejected[0] == "premises"
    assert rejected[1] == "page 1 item 1"
    assert orjson.loads(rejected[2]) == bad
    assert reason_part in rejected[3]


def test_list_enums_accept_empty_lists_and_reject_any_bad_item(cache: Cache) -> None:
    counts = load(
        cache,
        "full",
        [
            page(
                premise(1, feature=[], purchase_option=[]),
                premise(2, feature=["sign_balcony"] * 3),
                premise(3, purchase_option=["full_payment", "barter"]),  # the last item is bad
                premise(4, feature=["sign_jacuzzi", "sign_balcony"]),  # the first item is bad
            )
        ],
    )
    assert (counts["premises"].loaded, counts["premises"].rejected) == (2, 2)
    assert rows(cache, "SELECT id, feature, purchase_option FROM premises ORDER BY id") == [
        (1, [], []),
        (2, ["sign_balcony"] * 3, ["mortage", "full_payment"]),
    ]
    reasons = dict(rows(cache, "SELECT record_id, reason FROM rejected_records"))
    assert reasons[3].startswith("purchase_option")
    assert reasons[4].startswith("feature")


def test_rejected_share_over_threshold_fails_and_changes_nothing(cache: Cache) -> None:
    load(cache, "full", [page(premise(1), premise(2))])
    before = rows(cache, "SELECT * FROM premises ORDER BY id")
    with pytest.raises(RejectedShareExceeded, match=r"over the 10\.0% threshold"):
        load(cache, "full", [page(premise(5), premise(6, type="castle"))], max_share=0.10)
    assert rows(cache, "SELECT * FROM premises ORDER BY id") == before
    # ...but what was wrong is still on record.
    assert rows(cache, "SELECT record_id FROM rejected_records") == [(6,)]


def test_full_removes_what_the_snapshot_no_longer_holds(cache: Cache) -> None:
    load(cache, "full", [page(premise(1), premise(2), premise(3))])
    counts = load(cache, "full", [page(premise(1), premise(3, price=1))])
    assert counts["premises"].deleted == 1
    assert rows(cache, "SELECT id, price FROM premises ORDER BY id") == [(1, 7_500_000_000), (3, 1)]


def test_full_keeps_the_last_good_version_of_a_record_rejected_now(cache: Cache) -> None:
    load(cache, "full", [page(premise(1), premise(2), premise(3))] * 1)
    load(cache, "full", [page(premise(1), premise(2, type="castle"), premise(3))])
    assert rows(cache, "SELECT id, type FROM premises ORDER BY id") == [
        (1, "apartment"),
        (2, "apartment"),
        (3, "apartment"),
    ]


def test_incremental_upserts_tombstones_and_never_lets_older_overwrite_newer(cache: Cache) -> None:
    load(cache, "full", [page(premise(1), premise(2), premise(3), premise(4))])
    newer = "2026-02-01T00:00:00+00:00"
    older = "2025-12-01T00:00:00+00:00"
    counts = load(
        cache,
        "incremental",
        [
            page(
                premise(1, price=1, updated_at=newer),  # newer: applied
                premise(2, price=2, updated_at=older),  # older: ignored
                {"id": 3, "deleted": True, "updated_at": newer},  # tombstone: removes 3
                {"id": 4, "deleted": True, "updated_at": older},  # older tombstone: ignored
                premise(5, updated_at=newer),  # new record
            )
        ],
    )
    got = dict(rows(cache, "SELECT id, price FROM premises"))
    assert got == {1: 1, 2: 7_500_000_000, 4: 7_500_000_000, 5: 7_500_000_000}
    c = counts["premises"]
    assert (c.loaded, c.deleted, c.ignored_older) == (2, 1, 2)
    # An older version arriving in a later run is ignored too (the Kafka case: redelivery).
    load(cache, "incremental", [page(premise(1, price=99, updated_at=older))])
    assert rows(cache, "SELECT price FROM premises WHERE id = 1") == [(1,)]


def test_the_latest_of_duplicates_in_one_batch_wins(cache: Cache) -> None:
    load(
        cache,
        "incremental",
        [
            page(premise(7, price=2, updated_at="2026-03-01T00:00:00Z")),
            page(premise(7, price=1, updated_at="2026-02-01T00:00:00Z")),
        ],
    )
    assert rows(cache, "SELECT id, price FROM premises") == [(7, 2)]


def test_single_items_with_their_own_sources(cache: Cache) -> None:
    run_id = cache.start_run("kafka", "incremental")
    with Staging(cache, run_id) as staging:
        staging.add_items(
            "premises",
            [orjson.dumps(premise(1)), b"{not json", orjson.dumps(premise(2, rooms="many"))],
            ["brusnika.premises/0@10", "brusnika.premises/0@11", "brusnika.premises/1@4"],
        )
        staging.commit({"premises": "incremental"}, max_rejected_share=1.0)
    assert rows(cache, "SELECT id FROM premises") == [(1,)]
    assert sorted(rows(cache, "SELECT source, reason LIKE 'not JSON%' FROM rejected_records")) == [
        ("brusnika.premises/0@11", True),
        ("brusnika.premises/1@4", False),
    ]


def test_a_failure_inside_the_commit_rolls_every_entity_back(cache: Cache) -> None:
    load(cache, "full", [page(premise(1))])
    run_id = cache.start_run("rest", "full")
    staging = Staging(cache, run_id)
    staging.add_pages("premises", [(page(premise(2)), "p")])
    city = {"id": 1, "name": "X", "long": "1.0", "lat": "2.0", "updated_at": "2026-01-01T00:00:00Z"}
    staging.add_pages("cities", [(page(city), "p")])
    # Sabotage the second entity's apply: its staging table disappears mid-way.
    staging._cur.execute("DROP TABLE stage_premises")
    with pytest.raises(Exception, match="stage_premises"):
        staging.commit({"cities": "full", "premises": "full"})
    staging.close()
    assert rows(cache, "SELECT count(*) FROM cities") == [(0,)]
    assert rows(cache, "SELECT id FROM premises") == [(1,)]


# --- the record path (one JSON object per line, as the Kafka consumer stages message values) --------
def _records(*items: dict[str, Any]) -> list[bytes]:
    return [orjson.dumps(item) for item in items]


def test_records_with_a_rule_broken_keep_the_good_ones_and_reject_the_bad_one(cache: Cache) -> None:
    # Valid JSON with the right types, so DuckDB parses it: only the SQL checks catch the bad row.
    run_id = cache.start_run("kafka", "incremental")
    with Staging(cache, run_id) as staging:
        staging.add_records(
            "premises",
            _records(premise(1), premise(2, type="castle"), premise(3, updated_at="2026-01-10T12:00:00")),
            ["t/0@1", "t/0@2", "t/0@3"],
        )
        counts = staging.commit({"premises": "incremental"}, max_rejected_share=1.0)
    assert rows(cache, "SELECT id FROM premises") == [(1,)]
    assert (counts["premises"].received, counts["premises"].loaded, counts["premises"].rejected) == (3, 1, 2)
    rejected = sorted(rows(cache, "SELECT source, record_id FROM rejected_records"))
    assert rejected == [("t/0@2", 2), ("t/0@3", 3)]


def test_one_staging_serves_batch_after_batch(cache: Cache) -> None:
    # The Kafka consumer keeps one Staging per session: commit, reset, stage the next batch.
    run_id = cache.start_run("kafka", "incremental")
    newer, older = "2026-02-01T00:00:00+00:00", "2025-12-01T00:00:00+00:00"
    with Staging(cache, run_id) as staging:
        # Into an empty table: duplicates in the batch (the newest wins), a tombstone of a record
        # never held (changes nothing).
        staging.add_records(
            "premises",
            _records(
                premise(1, price=1),
                premise(1, price=2, updated_at=newer),
                premise(3),
                {"id": 2, "deleted": True, "updated_at": newer},
            ),
            ["a", "b", "c", "d"],
        )
        first = staging.commit({"premises": "incremental"}, max_rejected_share=1.0, finish_run=False)[
            "premises"
        ]
        staging.reset()
        assert rows(cache, "SELECT id, price FROM premises ORDER BY id") == [(1, 2), (3, 7_500_000_000)]
        assert (first.received, first.loaded, first.deleted, first.ignored_older) == (4, 2, 0, 0)
        # Only new records: appended, nothing replaced.
        staging.add_records("premises", _records(premise(4), premise(5)), ["e", "f"])
        second = staging.commit({"premises": "incremental"}, max_rejected_share=1.0, finish_run=False)[
            "premises"
        ]
        staging.reset()
        assert (second.received, second.loaded, second.deleted, second.ignored_older) == (2, 2, 0, 0)
        # A newer version, an older one, a tombstone: the usual rules on a held table.
        staging.add_records(
            "premises",
            _records(
                premise(4, price=40, updated_at=newer),
                premise(5, price=50, updated_at=older),
                {"id": 3, "deleted": True, "updated_at": newer},
            ),
            ["g", "h", "i"],
        )
        third = staging.commit({"premises": "incremental"}, max_rejected_share=1.0, finish_run=False)[
            "premises"
        ]
    assert (third.received, third.loaded, third.deleted, third.ignored_older) == (3, 1, 1, 1)
    assert rows(cache, "SELECT id, price FROM premises ORDER BY id") == [
        (1, 2),
        (4, 40),
        (5, 7_500_000_000),
    ]


def test_records_split_over_files_with_a_bad_row_in_one_of_them(cache: Cache) -> None:
    # The Kafka consumer writes a big batch as several files (parsed in parallel): a bad row in one
    # file leaves the good rows of every file loaded, each rejection named by its own source.
    run_id = cache.start_run("kafka", "incremental")
    items = [
        *_records(*(premise(i) for i in range(1, 6))),
        b'{"id": 6, "updated_at": ',
        orjson.dumps(premise(7)),
    ]
    items[2] = orjson.dumps(premise(3, type="castle"))
    sources = [f"t/0@{i}" for i in range(1, 8)]
    with Staging(cache, run_id) as staging:
        paths = staging.write_records(items, parts=3)
        assert len(paths) == 3
        staging.add_record_files("premises", paths, items, sources)
        counts = staging.commit({"premises": "incremental"}, max_rejected_share=1.0)["premises"]
        assert not any(p.exists() for p in paths)
    assert rows(cache, "SELECT id FROM premises ORDER BY id") == [(1,), (2,), (4,), (5,), (7,)]
    assert (counts.received, counts.loaded, counts.rejected) == (7, 5, 2)
    rejected = sorted(rows(cache, "SELECT source, record_id FROM rejected_records"))
    assert rejected == [("t/0@3", 3), ("t/0@6", None)]


# --- a rejected record is not forgotten (issue 12) ---------------------------------------------------
def _mark(cache: Cache) -> Any:
    found = rows(cache, "SELECT high_water FROM sync_state WHERE entity = 'premises'")
    return found[0][0] if found else None


def _stamp(text: str) -> Any:
    return datetime.fromisoformat(text)


def test_the_mark_stops_just_before_a_record_rejected_in_an_incremental(cache: Cache) -> None:
    load(cache, "full", [page(premise(1, updated_at="2026-01-01T00:00:00+00:00"))])
    counts = load(
        cache,
        "incremental",
        [
            page(
                premise(2, updated_at="2026-01-02T00:00:00+00:00"),
                premise(3, updated_at="2026-01-03T00:00:00+00:00", type="castle"),
                premise(4, updated_at="2026-01-04T00:00:00+00:00"),
            )
        ],
    )["premises"]
    assert counts.rejected == 1
    # `updated_since` is strictly later: 1 µs before the rejected copy fetches it again next time.
    assert _mark(cache) == _stamp("2026-01-03T00:00:00+00:00") - timedelta(microseconds=1)
    assert counts.high_water == _mark(cache)
    # Fixed upstream (same version, now valid): the next incremental loads it, and the mark moves on.
    load(
        cache,
        "incremental",
        [
            page(
                premise(3, updated_at="2026-01-03T00:00:00+00:00"),
                premise(4, updated_at="2026-01-04T00:00:00+00:00"),
            )
        ],
    )
    assert rows(cache, "SELECT id, type FROM premises ORDER BY id") == [
        (1, "apartment"), (2, "apartment"), (3, "apartment"), (4, "apartment")
    ]  # fmt: skip
    assert _mark(cache) == _stamp("2026-01-04T00:00:00+00:00")


def test_a_rejected_copy_with_an_unreadable_stamp_holds_the_mark_at_the_item_before_it(cache: Cache) -> None:
    load(cache, "full", [page(premise(1, updated_at="2026-01-01T00:00:00+00:00"))])
    load(
        cache,
        "incremental",
        [
            page(
                premise(2, updated_at="2026-01-02T00:00:00+00:00"),
                premise(3, updated_at="not a timestamp"),
                premise(4, updated_at="2026-01-04T00:00:00+00:00"),
            )
        ],
    )
    assert _mark(cache) == _stamp("2026-01-02T00:00:00+00:00") - timedelta(microseconds=1)


def test_a_rejected_copy_with_nothing_to_place_it_leaves_the_mark_where_the_run_started(cache: Cache) -> None:
    load(cache, "full", [page(premise(1, updated_at="2026-01-01T00:00:00+00:00"))])
    before = _mark(cache)
    load(
        cache,
        "incremental",
        [page(premise(3, updated_at=None), premise(4, updated_at="2026-01-04T00:00:00+00:00"))],
    )
    assert _mark(cache) == before == _stamp("2026-01-01T00:00:00+00:00")
    # A full load with such a reject on an entity without a mark leaves none: the next run is full.
    counts = load(cache, "full", [page(premise(5, updated_at="soon"), premise(6))])["premises"]
    assert counts.rejected == 1
    assert _mark(cache) == before  # the full started from `before`: it stays there


def test_a_full_load_withholds_its_deletions_when_a_rejected_id_is_unreadable(cache: Cache) -> None:
    load(cache, "full", [page(premise(1), premise(2), premise(3))])
    # Record 2 is gone upstream, and a malformed copy of record 3 arrives whose id cannot be read: it
    # could be any row the snapshot does not hold (2 or 3), so nothing is deleted this run, and the
    # run says so.
    broken = premise(3, price=5) | {"id": "id-3"}
    counts = load(cache, "full", [page(premise(1), broken, premise(4))])["premises"]
    assert counts.rejected == 1
    assert (counts.deleted, counts.withheld) == (0, 2)
    assert counts.note is not None
    assert "withheld" in counts.note
    assert "2 row(s)" in counts.note
    assert rows(cache, "SELECT id FROM premises ORDER BY id") == [(1,), (2,), (3,), (4,)]
    run = rows(cache, "SELECT status, note FROM sync_runs ORDER BY id DESC LIMIT 1")[0]
    assert run[0] == "succeeded"
    assert "premises: snapshot deletions withheld" in run[1]
    # Once the feed is clean again, a full load removes what the snapshot no longer holds.
    counts = load(cache, "full", [page(premise(1), premise(3), premise(4))])["premises"]
    assert (counts.deleted, counts.withheld, counts.note) == (1, 0, None)
    assert rows(cache, "SELECT id FROM premises ORDER BY id") == [(1,), (3,), (4,)]


def test_a_record_rejected_again_replaces_its_earlier_identical_reject(cache: Cache) -> None:
    """A REST run fetching again from before a rejected record rejects it again: the rejects keep its
    newest sighting once, not one row per run."""
    load(cache, "full", [page(premise(1))])
    bad = page(premise(2, updated_at="2026-01-02T00:00:00+00:00", type="castle"))
    for _ in range(2):
        run_id = cache.start_run("rest", "incremental")
        with Staging(cache, run_id) as staging:
            staging.add_pages("premises", [(bad, "GET /premises page 1")])
            staging.commit({"premises": "incremental"}, max_rejected_share=1.0)
    assert rows(cache, "SELECT record_id, run_id, source FROM rejected_records") == [
        (2, run_id, "GET /premises page 1 item 0")
    ]
