"""The users directory on both backends: every wire field round-trips, sign-in lookup by email,
created/changed/unchanged reports, agency members."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from kontur.models import UserRole, UserStatus
from kontur.store import users
from kontur.store.db import Store
from kontur.store.schema import users as users_table
from tests.store.factories import user

T0 = dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.UTC)


def test_every_wire_field_round_trips(store: Store) -> None:
    original = user(7, temporary_role="HEAD_OF_AGENCY", role="AGENT", status="blocked")
    with store.write() as tx:
        report = users.upsert_users(tx, [original], by="Иванов Иван (#1)", at=T0)
    assert report.created == [7]
    with store.read() as tx:
        stored = users.get_user(tx, 7)
    assert stored is not None
    assert stored.user == original
    assert stored.user.to_wire() == original.to_wire()
    assert stored.user.status is UserStatus.BLOCKED
    assert stored.user.temporary_role is UserRole.HEAD_OF_AGENCY
    assert (stored.created_at, stored.updated_at, stored.updated_by, stored.pushed_at) == (
        T0,
        T0,
        "Иванов Иван (#1)",
        None,
    )
    assert stored.created_at.tzinfo is not None


def test_optional_fields_stay_empty(store: Store) -> None:
    bare = user(8, city_id=None, birthDate=None, agency_id=None, workStartDate=None, avatar=None, phone="")
    with store.write() as tx:
        users.upsert_users(tx, [bare], by=None)
    with store.read() as tx:
        stored = users.get_user(tx, 8)
    assert stored is not None
    assert stored.user == bare


def test_find_by_email_ignores_case_and_surrounding_spaces(store: Store) -> None:
    with store.write() as tx:
        users.upsert_users(tx, [user(1, email="  Anna.Petrova@Kontur.Example "), user(2)], by=None)
    with store.read() as tx:
        found = users.find_by_email(tx, "anna.petrova@kontur.example")
        also = users.find_by_email(tx, " ANNA.PETROVA@KONTUR.EXAMPLE")
        nobody = users.find_by_email(tx, "someone@kontur.example")
        blank = users.find_by_email(tx, "   ")
    assert [u.id for u in found] == [1]
    assert [u.id for u in also] == [1]
    assert found[0].email == "  Anna.Petrova@Kontur.Example "  # stored as given
    assert nobody == []
    assert blank == []


def test_find_by_email_returns_every_holder_of_a_shared_address(store: Store) -> None:
    """Sign-in refuses an ambiguous address; the lookup must show it is ambiguous."""
    with store.write() as tx:
        users.upsert_users(
            tx, [user(3, email="same@kontur.example"), user(4, email="SAME@kontur.example")], by=None
        )
    with store.read() as tx:
        assert [u.id for u in users.find_by_email(tx, "same@kontur.example")] == [3, 4]


def test_upsert_reports_created_changed_unchanged_and_keeps_created_at(store: Store) -> None:
    later = T0 + dt.timedelta(hours=1)
    with store.write() as tx:
        users.upsert_users(tx, [user(1), user(2)], by="first", at=T0)
    with store.write() as tx:
        report = users.upsert_users(
            tx, [user(1), user(2, role="HEAD_OF_AGENCY"), user(3)], by="second", at=later
        )
    assert (report.created, report.changed, report.unchanged) == ([3], [2], [1])
    with store.read() as tx:
        one, two, three = (users.get_user(tx, i) for i in (1, 2, 3))
    assert one is not None
    assert two is not None
    assert three is not None
    assert (one.updated_at, one.updated_by) == (T0, "first")  # unchanged: not touched
    assert two.user.role is UserRole.HEAD_OF_AGENCY
    assert (two.created_at, two.updated_at, two.updated_by) == (T0, later, "second")
    assert (three.created_at, three.updated_by) == (later, "second")


def test_an_email_change_moves_the_sign_in_key(store: Store) -> None:
    with store.write() as tx:
        users.upsert_users(tx, [user(1, email="old@kontur.example")], by=None)
    with store.write() as tx:
        users.upsert_users(tx, [user(1, email="New@kontur.example")], by=None)
    with store.read() as tx:
        assert users.find_by_email(tx, "old@kontur.example") == []
        assert [u.id for u in users.find_by_email(tx, "new@kontur.example")] == [1]


def test_bulk_upsert_of_many_users(store: Store) -> None:
    people = [user(i, agency_id=100 + i % 3) for i in range(1, 2501)]
    with store.write() as tx:
        report = users.upsert_users(tx, people, by="bulk")
    assert len(report.created) == 2500
    with store.write() as tx:
        again = users.upsert_users(tx, [user(i, agency_id=100 + i % 3) for i in range(1, 2501)], by="bulk")
    assert len(again.unchanged) == 2500
    with store.read() as tx:
        assert users.count_users(tx) == 2500
        assert len(users.agency_members(tx, 101)) == 834


def test_agency_members_and_scoped_lists(store: Store) -> None:
    with store.write() as tx:
        users.upsert_users(
            tx,
            [
                user(1, agency_id=10, lastName="Б"),
                user(2, agency_id=10, lastName="А"),
                user(3, agency_id=20),
                user(4, agency_id=None),
            ],
            by=None,
        )
    with store.read() as tx:
        assert users.agency_members(tx, 10) == frozenset({1, 2})
        assert users.agency_members(tx, 99) == frozenset()
        assert [s.user.id for s in users.list_users(tx, agency_id=10)] == [2, 1]  # by last name
        assert [s.user.id for s in users.list_users(tx, ids={3, 4})] == [3, 4]
        assert users.list_users(tx, ids=set()) == []
        assert len(users.list_users(tx)) == 4
        assert [s.user.id for s in users.list_users(tx, limit=2, offset=1)] == [1, 3]
        assert set(users.get_users(tx, [1, 3, 42])) == {1, 3}


def test_mark_pushed(store: Store) -> None:
    with store.write() as tx:
        users.upsert_users(tx, [user(1), user(2)], by=None)
        users.mark_pushed(tx, [2], at=T0)
    with store.read() as tx:
        one, two = users.get_user(tx, 1), users.get_user(tx, 2)
    assert one is not None
    assert one.pushed_at is None
    assert two is not None
    assert two.pushed_at == T0


def test_a_row_edited_by_hand_into_an_invalid_user_is_left_out_not_fatal(store: Store) -> None:
    with store.write() as tx:
        users.upsert_users(tx, [user(1, email="x@kontur.example"), user(2)], by=None)
        tx.execute(sa.update(users_table).where(users_table.c.id == 1).values(role="SUPERUSER"))
    with store.read() as tx:
        assert users.find_by_email(tx, "x@kontur.example") == []
        assert [s.user.id for s in users.list_users(tx)] == [2]
        assert users.get_user(tx, 1) is None


def test_a_failed_transaction_writes_nothing(store: Store) -> None:
    try:
        with store.write() as tx:
            users.upsert_users(tx, [user(1)], by=None)
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with store.read() as tx:
        assert users.get_user(tx, 1) is None


def test_next_id_is_one_past_the_highest(store: Store) -> None:
    with store.read() as tx:
        assert users.next_id(tx) == 1
    with store.write() as tx:
        users.upsert_users(tx, [user(7), user(41)], by="test")
    with store.read() as tx:
        assert users.next_id(tx) == 42


def test_fingerprint_moves_with_every_change_and_only_then(store: Store) -> None:
    """What the development picker's cached list is keyed by (kontur.auth.session._picker_options)."""
    later = T0 + dt.timedelta(minutes=1)
    with store.write() as tx:
        users.upsert_users(tx, [user(1), user(2)], by="first", at=T0)
    with store.read() as tx:
        first = users.fingerprint(tx)
    with store.write() as tx:
        users.upsert_users(tx, [user(1), user(2)], by="same again", at=later)  # nothing differs
    with store.read() as tx:
        assert users.fingerprint(tx) == first
    with store.write() as tx:
        users.upsert_users(tx, [user(2, status=UserStatus.BLOCKED)], by="block", at=later)
    with store.read() as tx:
        blocked = users.fingerprint(tx)
    assert blocked != first
    with store.write() as tx:
        users.upsert_users(tx, [user(3)], by="add", at=later)
    with store.read() as tx:
        assert users.fingerprint(tx) not in (first, blocked)
