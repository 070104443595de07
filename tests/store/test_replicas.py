"""Two store instances on one database, as two dashboard replicas have them (two engines, two pools):
what one writes the other reads, and the writes that must happen once happen once when both race.

Runs on both backends: PostgreSQL is what replicas share; two processes on one host may also share a
SQLite file, and the same guarantees must hold there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
import sqlalchemy as sa

from kontur.models import UserStatus
from kontur.store import bookings, idempotency, users
from kontur.store.db import Store
from kontur.store.schema import booking_quota
from tests.store.factories import booking, user

T = TypeVar("T")
RACERS = 8


@pytest.fixture
def replicas(store_url: str) -> Iterator[tuple[Store, Store]]:
    a, b = Store.open(store_url), Store.open(store_url)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def _race(stores: tuple[Store, Store], work: Callable[[Store, int], T], n: int = RACERS) -> list[T]:
    """Run `work(store, i)` in n threads alternating between the replicas, all released at once."""
    start = threading.Barrier(n)

    def one(i: int) -> T:
        start.wait(timeout=60)
        return work(stores[i % 2], i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_a_user_written_by_one_replica_is_read_by_the_other(replicas: tuple[Store, Store]) -> None:
    a, b = replicas
    with a.write() as tx:
        users.upsert_users(tx, [user(1, email="agent@kontur.example")], by="A")
    with b.read() as tx:
        seen = users.find_by_email(tx, "AGENT@kontur.example")
    assert [u.id for u in seen] == [1]
    assert seen[0].status is UserStatus.ACTIVE


def test_a_user_blocked_on_one_replica_is_blocked_on_the_other_at_the_next_read(
    replicas: tuple[Store, Store],
) -> None:
    a, b = replicas
    with a.write() as tx:
        users.upsert_users(tx, [user(1)], by="A")
    with b.read() as tx:
        assert users.find_by_email(tx, "user1@kontur.example")[0].status is UserStatus.ACTIVE
    with a.write() as tx:
        report = users.upsert_users(tx, [user(1, status="blocked")], by="A")
    assert report.changed == [1]
    with b.read() as tx:
        assert users.find_by_email(tx, "user1@kontur.example")[0].status is UserStatus.BLOCKED


def test_the_same_booking_recorded_by_both_replicas_at_once_is_counted_once(
    replicas: tuple[Store, Store],
) -> None:
    a, _ = replicas
    with a.write() as tx:
        users.upsert_users(tx, [user(5, remaining_user_creation_limit=10)], by=None)
    answer = booking(77, agent_id=5)

    def record(store: Store, _i: int) -> bookings.BookingRecorded:
        with store.write() as tx:
            return bookings.booking_created(tx, answer, recorded_by=5)

    results = _race(replicas, record)
    assert sum(r.quota_decremented for r in results) == 1
    assert sum(r.new_booking for r in results) == 1
    with a.read() as tx:
        agent = users.get_user(tx, 5)
        ledger = tx.execute(sa.select(sa.func.count()).select_from(booking_quota)).scalar_one()
    assert agent is not None
    assert agent.user.remaining_user_creation_limit == 9
    assert ledger == 1


def test_different_bookings_raced_by_both_replicas_each_count_once(replicas: tuple[Store, Store]) -> None:
    a, _ = replicas
    with a.write() as tx:
        users.upsert_users(tx, [user(5, remaining_user_creation_limit=100)], by=None)

    def record(store: Store, i: int) -> bool:
        with store.write() as tx:
            return bookings.booking_created(
                tx, booking(1000 + i, agent_id=5), recorded_by=5
            ).quota_decremented

    assert all(_race(replicas, record))
    with a.read() as tx:
        agent = users.get_user(tx, 5)
    assert agent is not None
    assert agent.user.remaining_user_creation_limit == 100 - RACERS


def test_both_replicas_claiming_one_submission_get_one_key(replicas: tuple[Store, Store]) -> None:
    fp = idempotency.fingerprint({"premise_id": 1, "client_id": 2, "agent_id": 5})

    def claim(store: Store, _i: int) -> str:
        with store.write() as tx:
            return idempotency.claim(tx, "booking", fp, 5).key

    keys = _race(replicas, claim)
    assert len(set(keys)) == 1


def test_both_replicas_creating_one_user_at_once_end_with_one_row(replicas: tuple[Store, Store]) -> None:
    def create(store: Store, i: int) -> users.UpsertReport:
        with store.write() as tx:
            return users.upsert_users(tx, [user(9, firstName=f"Вариант{i % 2}")], by=f"replica {i % 2}")

    reports = _race(replicas, create)
    assert sum(len(r.created) for r in reports) == 1
    assert sum(len(r.created) + len(r.changed) + len(r.unchanged) for r in reports) == RACERS
    a, b = replicas
    with b.read() as tx:
        listed = users.list_users(tx)
    assert [s.user.id for s in listed] == [9]
    assert listed[0].user.first_name in {"Вариант0", "Вариант1"}
    with a.read() as tx:
        assert users.get_user(tx, 9) == listed[0]
