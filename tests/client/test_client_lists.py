"""Inbound lists over real HTTP: every record exactly once across pages, raw pages for the sync,
`updated_since` with tombstones after drift, laziness, and malformed items never passing silently."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import orjson
import pytest

from kontur.client import BrusnikaClient, RawPage, RejectedItem, next_cursor_of
from kontur.errors import MalformedRecordError
from kontur.models import ENTITIES, INBOUND_MODELS, Tombstone
from kontur.sandbox.server import RunningSandbox

# Entity -> the client's named iterator.
ITERATORS: dict[str, Callable[..., object]] = {
    "cities": BrusnikaClient.cities,
    "projects": BrusnikaClient.projects,
    "buildings": BrusnikaClient.buildings,
    "sections": BrusnikaClient.sections,
    "premises": BrusnikaClient.premises,
    "leads": BrusnikaClient.leads,
    "time-slots": BrusnikaClient.time_slots,
}


def _small_limit(total: int) -> int:
    # Several pages, and a last page that is not full, whatever the data size.
    return max(1, min(1000, total // 3 - 1 if total > 6 else 1))


@pytest.mark.parametrize("entity", ENTITIES)
def test_named_iterator_returns_every_record_once(
    entity: str, client: BrusnikaClient, sandbox: RunningSandbox
) -> None:
    truth = {r["id"]: r for r in sandbox.admin().records(entity)}
    assert truth, f"the sandbox holds no {entity}"
    records = list(ITERATORS[entity](client, limit=_small_limit(len(truth))))
    ids = [r.id for r in records]
    assert len(ids) == len(set(ids)), "a record came twice across pages"
    assert set(ids) == set(truth)
    model = INBOUND_MODELS[entity]
    assert all(type(r) is model for r in records), "a full snapshot holds live records only"
    # The models carry what the server holds, field for field, on the wire.
    sample = records[len(records) // 2]
    wire = sample.to_wire()
    for key, value in truth[sample.id].items():
        if key in wire and key not in ("updated_at", "status_updated_at"):
            assert orjson.loads(orjson.dumps(wire[key])) == value or wire[key] == value, key


def test_iterators_are_lazy(
    sandbox: RunningSandbox, counting, client_factory: Callable[..., BrusnikaClient]
) -> None:
    with client_factory(sandbox, transport=counting) as client:
        iterator = client.premises(limit=5)
        assert counting.count() == 0, "nothing may be fetched before the first item is asked for"
        first = [next(iterator) for _ in range(5)]
        assert counting.count() == 1
        assert len(first) == 5
        next(iterator)
        assert counting.count() == 2


def test_raw_pages_carry_the_cursor_and_cover_the_feed(
    client: BrusnikaClient, sandbox: RunningSandbox
) -> None:
    truth = {r["id"] for r in sandbox.admin().records("premises")}
    pages: list[RawPage] = list(client.iter_raw_pages("premises", limit=_small_limit(len(truth))))
    assert len(pages) >= 3
    seen: list[int] = []
    for index, page in enumerate(pages):
        assert page.entity == "premises"
        assert isinstance(page.content, bytes)
        body = orjson.loads(page.content)
        assert page.next_cursor == body["next_cursor"]
        assert (page.next_cursor is None) == (index == len(pages) - 1)
        seen.extend(item["id"] for item in body["items"])
    assert len(seen) == len(set(seen))
    assert set(seen) == truth


def test_raw_pages_accept_python_spelling_and_one_big_page(
    client: BrusnikaClient, sandbox: RunningSandbox
) -> None:
    truth = sandbox.admin().records("time-slots")
    pages = list(client.iter_raw_pages("time_slots", limit=1000))
    assert pages[0].entity == "time-slots"
    assert sum(len(orjson.loads(p.content)["items"]) for p in pages) == len(truth)
    with pytest.raises(ValueError, match="unknown entity"):
        client.iter_raw_pages("apartments")


def test_next_cursor_of_reads_the_tail_or_falls_back() -> None:
    assert next_cursor_of(b'{"items":[{"next_cursor":"inner"}],"next_cursor":"abc"}') == "abc"
    assert next_cursor_of(b'{"items": [], "next_cursor": null}\n') is None
    assert next_cursor_of(b'{"next_cursor":"head","items":[{"id":1}]}') == "head"
    assert next_cursor_of(b'{"items":[], "next_cursor":"mid", "extra": 1}') == "mid"
    assert next_cursor_of(b'{"items":[],"next_cursor":"esc\\"aped"}') == 'esc"aped'


def test_updated_since_requires_an_aware_datetime(client: BrusnikaClient) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        client.iter_raw_pages("cities", updated_since=datetime(2026, 1, 1))


def test_updated_since_returns_later_records_and_tombstones(
    private_sandbox: RunningSandbox, client_factory: Callable[..., BrusnikaClient]
) -> None:
    admin = private_sandbox.admin()
    with client_factory(private_sandbox) as client:
        before = list(client.premises(limit=1000))
        mark = max(r.updated_at for r in before)
        # Nothing changed yet: an incremental read from the newest mark is empty.
        assert list(client.premises(updated_since=mark)) == []
        admin.drift(200, seed=11)  # 5% of drift withdraws: 200 changes make tombstones certain
        changed = list(client.premises(updated_since=mark, limit=7))
        after = {r["id"]: r for r in admin.records("premises")}
    assert changed, "drift changed no premise"
    assert all(r.updated_at > mark for r in changed)
    ids = [r.id for r in changed]
    assert len(ids) == len(set(ids))
    tombstones = {r.id for r in changed if isinstance(r, Tombstone)}
    live = {r.id for r in changed if not isinstance(r, Tombstone)}
    # Live changes are exactly the records now newer than the mark; tombstones are exactly the
    # records that existed before and are gone now.
    expected_live = {rid for rid, r in after.items() if datetime.fromisoformat(r["updated_at"]) > mark}
    assert live == expected_live
    assert tombstones == {r.id for r in before} - set(after)
    assert tombstones, "drift withdrew no premise (the tombstone path went untested)"


def test_updated_since_in_another_zone_is_the_same_instant(
    client: BrusnikaClient, sandbox: RunningSandbox
) -> None:
    records = sorted(client.cities(), key=lambda r: (r.updated_at, r.id))
    mark = records[len(records) // 2].updated_at
    elsewhere = mark.astimezone(timezone(timedelta(hours=-7)))
    assert [r.id for r in client.cities(updated_since=mark)] == [
        r.id for r in client.cities(updated_since=elsewhere)
    ]
    assert all(r.updated_at > mark for r in client.cities(updated_since=mark))


def test_malformed_items_raise_or_are_yielded_aside(
    private_sandbox: RunningSandbox, client_factory: Callable[..., BrusnikaClient]
) -> None:
    admin = private_sandbox.admin()
    truth = {r["id"] for r in admin.records("premises")}
    admin.set_faults(malformed=0.05)
    try:
        with client_factory(private_sandbox) as client:
            with pytest.raises(MalformedRecordError) as excinfo:
                list(client.premises(limit=200))
            assert excinfo.value.entity == "premises"
            assert excinfo.value.reason  # names the field(s)
            items = list(client.iter_records("premises", limit=200, on_invalid="yield"))
    finally:
        admin.clear_faults()
    rejects = [i for i in items if isinstance(i, RejectedItem)]
    good = [i for i in items if not isinstance(i, RejectedItem)]
    assert rejects, "no malformed record was served"
    assert all(r.reason and r.raw is not None for r in rejects)
    # Nothing lost: every record came either valid or set aside.
    assert len(good) + len(rejects) == len(truth)
    assert {r.id for r in good} <= truth
