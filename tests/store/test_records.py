"""Bookings, visits, clients and agencies recorded through Kontur, on both backends: round trips, scoped
lists, search, and the booking quota decremented once per booking id."""

from __future__ import annotations

import datetime as dt

from kontur.models import RequestStatus
from kontur.store import agencies, bookings, clients, users, visits
from kontur.store.db import Store
from tests.store.factories import agency, booking, client, user, visit

T0 = dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.UTC)


def _at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_booking_created_records_the_answer_and_decrements_the_agents_limit_once(store: Store) -> None:
    with store.write() as tx:
        users.upsert_users(tx, [user(5, remaining_user_creation_limit=3)], by=None)
    answer = booking(101, agent_id=5)
    with store.write() as tx:
        first = bookings.booking_created(tx, answer, recorded_by=9, at=T0)
    with store.write() as tx:
        again = bookings.booking_created(tx, answer, recorded_by=9, at=_at(1))
    assert first == bookings.BookingRecorded(new_booking=True, quota_decremented=True, remaining=2)
    assert again == bookings.BookingRecorded(new_booking=False, quota_decremented=False, remaining=2)
    with store.read() as tx:
        stored = bookings.get_booking(tx, 101)
        agent = users.get_user(tx, 5)
        ledger = bookings.quota_entry(tx, 101)
    assert stored is not None
    assert stored.record == answer
    assert (stored.recorded_at, stored.recorded_by, stored.updated_at) == (T0, 9, T0)
    assert agent is not None
    assert agent.user.remaining_user_creation_limit == 2
    assert ledger is not None
    assert (ledger["agent_id"], ledger["remaining_after"]) == (5, 2)


def test_each_new_booking_counts_and_the_limit_never_goes_below_zero(store: Store) -> None:
    with store.write() as tx:
        users.upsert_users(tx, [user(5, remaining_user_creation_limit=2)], by=None)
    remaining = []
    for n in range(1, 5):
        with store.write() as tx:
            remaining.append(bookings.booking_created(tx, booking(n, agent_id=5), recorded_by=5).remaining)
    assert remaining == [1, 0, 0, 0]


def test_booking_for_an_agent_missing_from_the_directory_is_recorded_and_counted_once(store: Store) -> None:
    with store.write() as tx:
        result = bookings.booking_created(tx, booking(7, agent_id=404), recorded_by=1)
    assert result == bookings.BookingRecorded(new_booking=True, quota_decremented=True, remaining=None)
    with store.write() as tx:
        assert (
            bookings.booking_created(tx, booking(7, agent_id=404), recorded_by=1).quota_decremented is False
        )


def test_a_replayed_creation_answer_does_not_reopen_a_cancelled_booking(store: Store) -> None:
    with store.write() as tx:
        bookings.booking_created(tx, booking(1, agent_id=5), recorded_by=5, at=T0)
    with store.write() as tx:
        bookings.save_bookings(tx, [booking(1, agent_id=5, status="fail")], recorded_by=6, at=_at(5))
    with store.write() as tx:
        bookings.booking_created(tx, booking(1, agent_id=5), recorded_by=5, at=_at(9))
    with store.read() as tx:
        stored = bookings.get_booking(tx, 1)
    assert stored is not None
    assert stored.record.status is RequestStatus.FAIL
    assert (stored.recorded_at, stored.recorded_by, stored.updated_at) == (T0, 5, _at(5))


def test_bookings_listed_by_agent_scope_newest_first(store: Store) -> None:
    with store.write() as tx:
        for n, agent in enumerate([1, 2, 1, 3], start=1):
            bookings.booking_created(tx, booking(n, agent_id=agent), recorded_by=agent, at=_at(n))
        bookings.save_bookings(tx, [booking(2, agent_id=2, status="fail")], recorded_by=2, at=_at(10))
    with store.read() as tx:
        assert [b.record.id for b in bookings.list_bookings(tx, agent_ids=None)] == [4, 3, 2, 1]
        assert [b.record.id for b in bookings.list_bookings(tx, agent_ids={1})] == [3, 1]
        assert [b.record.id for b in bookings.list_bookings(tx, agent_ids=[1, 2])] == [3, 2, 1]
        assert bookings.list_bookings(tx, agent_ids=frozenset()) == []
        assert [b.record.id for b in bookings.list_bookings(tx, agent_ids=None, status="fail")] == [2]
        assert [b.record.id for b in bookings.list_bookings(tx, agent_ids=None, limit=2, offset=1)] == [3, 2]
        assert set(bookings.get_bookings(tx, [1, 4, 99])) == {1, 4}
        assert bookings.get_booking(tx, 99) is None


def test_visits_round_trip_update_and_scope(store: Store) -> None:
    opened = visit(1, agent_id=5)
    with store.write() as tx:
        assert visits.save_visits(
            tx, [opened, visit(2, agent_id=6, time_slot_id=None)], recorded_by=5, at=T0
        ) == [1, 2]
    with store.write() as tx:
        assert visits.save_visits(tx, [visit(1, agent_id=5, status="fail")], recorded_by=8, at=_at(3)) == []
    with store.read() as tx:
        stored = visits.get_visit(tx, 1)
        assert [v.record.id for v in visits.list_visits(tx, agent_ids={6})] == [2]
        assert visits.list_visits(tx, agent_ids=set()) == []
        assert [v.record.id for v in visits.list_visits(tx, agent_ids=None, status="open")] == [2]
    assert stored is not None
    assert stored.record == opened.model_copy(update={"status": RequestStatus.FAIL})
    assert stored.record.request_time == opened.request_time
    assert (stored.recorded_by, stored.recorded_at, stored.updated_at) == (5, T0, _at(3))


def test_clients_search_by_any_case_name_or_phone_digits(store: Store) -> None:
    with store.write() as tx:
        clients.save_clients(
            tx,
            [
                client(1, agent_id=5, fullname="Сидоров Пётр Ильич", phone_number="+79221234567"),
                client(2, agent_id=6, fullname="Петрова Мария", phone_number="+79227654321"),
                client(3, agent_id=5, fullname="100%_Клиент", phone_number="+79220000000"),
            ],
            recorded_by=5,
        )
    with store.read() as tx:

        def ids(query: str, agent_ids: set[int] | None = None) -> list[int]:
            found = clients.list_clients(tx, agent_ids=agent_ids, query=query)
            return sorted(c.record.id for c in found)

        assert ids("сидоров") == [1]
        assert ids("ПЁТР") == [1]
        assert ids("петр") == [2]  # "Петрова"; ё and е are different letters
        assert ids("8 (922) 123-45-67") == [1]
        assert ids("4567") == [1]
        assert ids("%") == [3]  # LIKE wildcards in a query are literal
        assert ids("_") == [3]
        assert ids("") == [1, 2, 3]
        assert ids("", agent_ids={6}) == [2]
        assert ids("сидоров", agent_ids={6}) == []
        assert ids("", agent_ids=set()) == []
        assert clients.get_client(tx, 2) is not None
        assert set(clients.get_clients(tx, [2, 3])) == {2, 3}


def test_a_later_search_answer_replaces_the_client_but_keeps_who_recorded_it(store: Store) -> None:
    with store.write() as tx:
        clients.save_clients(tx, [client(1, agent_id=5)], recorded_by=5, at=T0)
    with store.write() as tx:
        clients.save_clients(
            tx,
            [client(1, agent_id=5, fixing_type="отказ в закреплении", fullname="Сидоров П. И.")],
            recorded_by=7,
            at=_at(1),
        )
    with store.read() as tx:
        stored = clients.get_client(tx, 1)
        assert [c.record.id for c in clients.list_clients(tx, agent_ids=None, query="п. и.")] == [1]
        assert clients.list_clients(tx, agent_ids=None, query="ильич") == []
    assert stored is not None
    assert stored.record.fixing_type.value == "отказ в закреплении"
    assert (stored.recorded_by, stored.recorded_at, stored.updated_at) == (5, T0, _at(1))


def test_agencies_by_inn_and_recorder(store: Store) -> None:
    with store.write() as tx:
        agencies.save_agencies(
            tx, [agency(1), agency(2, inn="500100732259", title="ИП Орлов")], recorded_by=5, at=T0
        )
        agencies.save_agencies(tx, [agency(3, inn="7728168971")], recorded_by=6, at=_at(1))
    with store.read() as tx:
        assert [a.record.id for a in agencies.find_by_inn(tx, " 7707083893 ")] == [1]
        assert [a.record.id for a in agencies.list_agencies(tx)] == [3, 2, 1]
        assert [a.record.id for a in agencies.list_agencies(tx, recorded_by={5})] == [2, 1]
        assert agencies.list_agencies(tx, recorded_by=set()) == []
        stored = agencies.get_agency(tx, 2)
        assert set(agencies.get_agencies(tx, [1, 2, 3])) == {1, 2, 3}
    assert stored is not None
    assert stored.record == agency(2, inn="500100732259", title="ИП Орлов")


def test_duplicate_ids_in_one_batch_keep_the_last_answer(store: Store) -> None:
    with store.write() as tx:
        new = bookings.save_bookings(
            tx, [booking(1, agent_id=5), booking(1, agent_id=5, status="success")], recorded_by=5
        )
    assert new == [1]
    with store.read() as tx:
        stored = bookings.get_booking(tx, 1)
    assert stored is not None
    assert stored.record.status is RequestStatus.SUCCESS


def test_bulk_save_of_many_records(store: Store) -> None:
    with store.write() as tx:
        new = clients.save_clients(tx, [client(i, agent_id=i % 7 + 1) for i in range(1, 3001)], recorded_by=1)
    assert len(new) == 3000
    with store.read() as tx:
        assert len(clients.list_clients(tx, agent_ids={1}, limit=None)) == 428
