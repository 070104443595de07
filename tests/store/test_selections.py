"""Selections in the operational store, on SQLite and a real PostgreSQL: create, rename, add/remove
premises (first price and status kept), read scopes on every read and change, what a person follows
and last saw."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from kontur.store import selections as sel
from kontur.store.db import Store
from kontur.store.schema import selection_items

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
AGENT_A, COLLEAGUE_A, AGENT_B = 101, 102, 201


def _make(store: Store, owner: int = AGENT_A, name: str = "Для Ивановых", **kw: object) -> sel.Selection:
    with store.write() as tx:
        return sel.create_selection(tx, name=name, owner_id=owner, agency_id=10, at=T0, **kw)  # type: ignore[arg-type]


def test_create_and_get_round_trip(store: Store) -> None:
    made = _make(store, client_id=555, client_name="  Иванов   Иван ")
    with store.read() as tx:
        got = sel.get_selection(tx, made.id, agent_ids=None)
    assert got is not None
    assert (got.name, got.client_id, got.client_name, got.owner_id, got.agency_id) == (
        "Для Ивановых",
        555,
        "Иванов Иван",
        AGENT_A,
        10,
    )
    assert got.created_at == T0
    assert got.created_at.tzinfo is not None
    assert got.items == ()
    assert got.item_count == 0


@pytest.mark.parametrize("bad", ["", "   ", "я" * 201])
def test_a_bad_name_is_refused_and_nothing_written(store: Store, bad: str) -> None:
    with pytest.raises(sel.SelectionError), store.write() as tx:
        sel.create_selection(tx, name=bad, owner_id=AGENT_A, agency_id=10)
    with store.read() as tx:
        assert sel.list_selections(tx, agent_ids=None) == []


def test_items_keep_their_first_price_and_status(store: Store) -> None:
    made = _make(store)
    later = T0 + dt.timedelta(hours=1)
    with store.write() as tx:
        assert sel.add_premise(
            tx, made.id, premise_id=7, price=6_250_000, status="free", added_by=AGENT_A, agent_ids=None, at=T0
        )
        assert sel.add_premise(
            tx, made.id, premise_id=8, price=5_000_000_000, status="booked", added_by=AGENT_A, agent_ids=None
        )
        # the same premise again: not added twice, the first snapshot stays
        assert not sel.add_premise(
            tx, made.id, premise_id=7, price=1, status="sold", added_by=AGENT_A, agent_ids=None, at=later
        )
    with store.read() as tx:
        got = sel.get_selection(tx, made.id, agent_ids=None)
    assert got is not None
    assert [(i.premise_id, i.price_at_add, i.status_at_add) for i in got.items] == [
        (7, 6_250_000, "free"),
        (8, 5_000_000_000, "booked"),  # a price over 2^32 survives
    ]
    assert got.item_count == 2
    assert got.updated_at >= later


def test_an_unknown_status_is_refused(store: Store) -> None:
    made = _make(store)
    with pytest.raises(sel.SelectionError), store.write() as tx:
        sel.add_premise(tx, made.id, premise_id=7, price=1, status="reserved", added_by=1, agent_ids=None)
    with store.read() as tx:
        assert sel.get_selection(tx, made.id, agent_ids=None).items == ()  # type: ignore[union-attr]


def test_remove_rename_and_delete_cascade(store: Store) -> None:
    made = _make(store)
    with store.write() as tx:
        for pid in (1, 2, 3):
            sel.add_premise(tx, made.id, premise_id=pid, price=pid, status="free", added_by=1, agent_ids=None)
        assert sel.remove_premise(tx, made.id, 2, agent_ids=None)
        assert not sel.remove_premise(tx, made.id, 2, agent_ids=None)
        assert sel.rename_selection(tx, made.id, "  Двушки  у парка ", agent_ids=None)
    with store.read() as tx:
        got = sel.get_selection(tx, made.id, agent_ids=None)
    assert got is not None
    assert got.name == "Двушки у парка"
    assert [i.premise_id for i in got.items] == [1, 3]
    with store.write() as tx:
        assert sel.delete_selection(tx, made.id, agent_ids=None)
    with store.read() as tx:
        assert sel.get_selection(tx, made.id, agent_ids=None) is None
        left = tx.execute(sa.select(sa.func.count()).select_from(selection_items)).scalar_one()
    assert left == 0


def test_reads_and_changes_follow_the_readers_scope(store: Store) -> None:
    mine = _make(store, owner=AGENT_A, name="A")
    colleague = _make(store, owner=COLLEAGUE_A, name="A2")
    other = _make(store, owner=AGENT_B, name="B")
    agency_a = {AGENT_A, COLLEAGUE_A}
    with store.read() as tx:
        assert {s.name for s in sel.list_selections(tx, agent_ids=agency_a)} == {"A", "A2"}
        assert {s.name for s in sel.list_selections(tx, agent_ids={AGENT_A})} == {"A"}
        assert {s.name for s in sel.list_selections(tx, agent_ids=None)} == {"A", "A2", "B"}
        assert sel.list_selections(tx, agent_ids=frozenset()) == []
        assert sel.get_selection(tx, other.id, agent_ids=agency_a) is None
        assert sel.get_selection(tx, colleague.id, agent_ids=agency_a) is not None
    with store.write() as tx:
        # another agency's selection: not renamed, not filled, not deleted
        assert not sel.rename_selection(tx, other.id, "взлом", agent_ids=agency_a)
        assert not sel.delete_selection(tx, other.id, agent_ids=agency_a)
        assert not sel.remove_premise(tx, other.id, 1, agent_ids=agency_a)
        assert not sel.rename_selection(tx, mine.id, "ничей", agent_ids=frozenset())
    with pytest.raises(sel.SelectionError), store.write() as tx:
        sel.add_premise(
            tx, other.id, premise_id=1, price=1, status="free", added_by=AGENT_A, agent_ids=agency_a
        )
    with store.read() as tx:
        untouched = sel.get_selection(tx, other.id, agent_ids=None)
    assert untouched is not None
    assert untouched.name == "B"
    assert untouched.items == ()


def test_lists_filter_by_owner_and_client_and_find_a_premise(store: Store) -> None:
    first = _make(store, name="one", client_id=1)
    second = _make(store, name="two", client_id=2)
    with store.write() as tx:
        sel.add_premise(tx, first.id, premise_id=42, price=1, status="free", added_by=1, agent_ids=None)
        sel.add_premise(tx, second.id, premise_id=42, price=1, status="free", added_by=1, agent_ids=None)
    with store.read() as tx:
        assert [s.name for s in sel.list_selections(tx, agent_ids=None, client_id=2)] == ["two"]
        assert [s.name for s in sel.list_selections(tx, agent_ids=None, owner_id=AGENT_B)] == []
        assert sel.selections_with_premise(tx, 42, agent_ids=None) == sorted([first.id, second.id])
        assert sel.selections_with_premise(tx, 42, agent_ids={AGENT_B}) == []
        counts = {s.name: s.item_count for s in sel.list_selections(tx, agent_ids=None)}
    assert counts == {"one": 1, "two": 1}


def test_followed_items_compare_with_what_was_last_seen(store: Store) -> None:
    made = _make(store)
    theirs = _make(store, owner=AGENT_B)
    with store.write() as tx:
        sel.add_premise(tx, made.id, premise_id=1, price=100, status="free", added_by=AGENT_A, agent_ids=None)
        sel.add_premise(
            tx, made.id, premise_id=2, price=200, status="booked", added_by=AGENT_A, agent_ids=None
        )
        sel.add_premise(
            tx, theirs.id, premise_id=3, price=300, status="free", added_by=AGENT_B, agent_ids=None
        )
    with store.read() as tx:
        before = sel.followed_items(tx, AGENT_A, agent_ids={AGENT_A})
        assert sel.get_mark(tx, AGENT_A, sel.TODAY_LOOKED) is None
    assert [(f.premise_id, f.baseline_status, f.baseline_price, f.seen_at) for f in before] == [
        (1, "free", 100, None),
        (2, "booked", 200, None),
    ]
    looked = T0 + dt.timedelta(days=1)
    with store.write() as tx:
        sel.mark_seen(tx, AGENT_A, [(1, "sold", 90), (2, "booked", 200)], at=looked)
    with store.read() as tx:
        after = sel.followed_items(tx, AGENT_A, agent_ids={AGENT_A})
        assert sel.get_mark(tx, AGENT_A, sel.TODAY_LOOKED) == looked
        assert sel.followed_items(tx, AGENT_A, agent_ids=frozenset()) == []
    assert [(f.premise_id, f.baseline_status, f.baseline_price, f.seen_at) for f in after] == [
        (1, "sold", 90, looked),
        (2, "booked", 200, looked),
    ]
    # seen again later: one row per premise, the newest wins
    with store.write() as tx:
        sel.mark_seen(tx, AGENT_A, [(1, "free", 95)], at=looked + dt.timedelta(hours=2))
    with store.read() as tx:
        again = {f.premise_id: f.baseline_status for f in sel.followed_items(tx, AGENT_A, agent_ids=None)}
    assert again == {1: "free", 2: "booked"}


def test_two_connections_adding_the_same_premise_add_it_once(store: Store) -> None:
    """Two replicas (two engines on one database) add the same premise: one row, one `True`."""
    made = _make(store)
    other = Store.open(str(store.engine.url.render_as_string(hide_password=False)))
    try:
        results = []
        for s in (store, other):
            with s.write() as tx:
                results.append(
                    sel.add_premise(
                        tx, made.id, premise_id=9, price=1, status="free", added_by=1, agent_ids=None
                    )
                )
    finally:
        other.close()
    assert sorted(results) == [False, True]
    with store.read() as tx:
        assert [i.premise_id for i in sel.get_selection(tx, made.id, agent_ids=None).items] == [9]  # type: ignore[union-attr]
