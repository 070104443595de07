"""The audit (scoped, newest first, paged, secrets scrubbed) and the idempotency keys of submissions,
on both backends."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from kontur.store import audit, idempotency
from kontur.store.audit import ActionEntry
from kontur.store.db import Store

T0 = dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.UTC)


def _at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_an_action_round_trips_with_its_agent_key_and_scrubbed_request(store: Store) -> None:
    entry = ActionEntry(
        action="create_booking",
        outcome="success",
        actor_id=3,
        actor="Менеджер Мария <m@kontur.example> (#3)",
        on_behalf_of=5,
        request={
            "premise_id": 1,
            "agent_id": 5,
            "date": dt.date(2026, 12, 3),
            "api_token": "s3cr3t",
            "nested": [{"Authorization": "Bearer x"}],
            "purchase_option": "mortage",
        },
        brusnika_id=101,
        message="Бронь №101 создана",
        idempotency_key="a" * 32,
        at=T0,
    )
    with store.write() as tx:
        new_id = audit.record_action(tx, entry)
    with store.read() as tx:
        page = audit.list_actions(tx, involving=None)
    assert [row.id for row in page.rows] == [new_id]
    row = page.rows[0]
    assert (row.at, row.actor_id, row.actor, row.on_behalf_of, row.action, row.outcome) == (
        T0,
        3,
        "Менеджер Мария <m@kontur.example> (#3)",
        5,
        "create_booking",
        "success",
    )
    assert (row.brusnika_id, row.message, row.idempotency_key) == (101, "Бронь №101 создана", "a" * 32)
    assert row.request == {
        "premise_id": 1,
        "agent_id": 5,
        "date": "2026-12-03",
        "api_token": "***",
        "nested": [{"Authorization": "***"}],
        "purchase_option": "mortage",
    }
    assert "s3cr3t" not in repr(row)


def test_actions_scoped_by_actor_or_agent_acted_for(store: Store) -> None:
    entries = [
        ActionEntry("create_booking", "success", actor_id=5, on_behalf_of=5, at=_at(1)),  # agent 5 self
        ActionEntry("create_booking", "success", actor_id=3, on_behalf_of=5, at=_at(2)),  # manager for 5
        ActionEntry("create_visit", "refused", actor_id=6, on_behalf_of=6, at=_at(3)),  # agent 6
        ActionEntry("put_user", "success", actor_id=1, at=_at(4)),  # admin
        ActionEntry("save_user", "success", actor="cli: root", at=_at(5)),  # a tool, nobody's
    ]
    with store.write() as tx:
        assert audit.record_actions(tx, entries) == 5
    with store.read() as tx:

        def whose(involving: set[int] | None, **kw: object) -> list[tuple[int | None, str]]:
            rows = audit.list_actions(tx, involving=involving, **kw).rows  # type: ignore[arg-type]
            return [(r.actor_id, r.action) for r in rows]

        assert whose(None) == [
            (None, "save_user"),
            (1, "put_user"),
            (6, "create_visit"),
            (3, "create_booking"),
            (5, "create_booking"),
        ]
        assert whose({5}) == [(3, "create_booking"), (5, "create_booking")]
        assert whose({3}) == [(3, "create_booking")]
        assert whose({5, 6}) == [(6, "create_visit"), (3, "create_booking"), (5, "create_booking")]
        assert whose(set()) == []
        assert whose(None, actions_named={"put_user", "create_visit"}) == [
            (1, "put_user"),
            (6, "create_visit"),
        ]


def test_paging_newest_first_is_stable_while_rows_are_added(store: Store) -> None:
    with store.write() as tx:
        # Two rows share a timestamp: the id breaks the tie.
        audit.record_actions(
            tx, [ActionEntry("create_client", "success", actor_id=1, at=_at(n // 2)) for n in range(7)]
        )
    seen: list[int] = []
    with store.read() as tx:
        page = audit.list_actions(tx, involving=None, limit=3)
    seen += [r.id for r in page.rows]
    with store.write() as tx:  # a newer row arrives between pages: it must not shift the next page
        audit.record_action(tx, ActionEntry("create_client", "success", actor_id=1, at=_at(100)))
    while page.next_before is not None:
        with store.read() as tx:
            page = audit.list_actions(tx, involving=None, limit=3, before=page.next_before)
        seen += [r.id for r in page.rows]
    with store.read() as tx:
        everything = audit.list_actions(tx, involving=None, limit=100).rows
    oldest_seven = [r.id for r in everything][1:]
    assert seen == oldest_seven
    assert len(seen) == 7
    assert len(set(seen)) == 7


def test_a_naive_timestamp_is_refused(store: Store) -> None:
    with pytest.raises(sa.exc.StatementError, match="timezone-aware"), store.write() as tx:
        audit.record_action(tx, ActionEntry("x", "success", at=dt.datetime(2026, 1, 1)))


# --- idempotency keys ----------------------------------------------------------------------------


def test_claim_gives_one_key_per_form_payload_and_actor(store: Store) -> None:
    fp = idempotency.fingerprint({"premise_id": 1, "client_id": 2})
    assert fp == idempotency.fingerprint({"client_id": 2, "premise_id": 1})  # key order does not matter
    with store.write() as tx:
        first = idempotency.claim(tx, "booking", fp, 5, at=T0)
    with store.write() as tx:
        again = idempotency.claim(tx, "booking", fp, 5, at=_at(1))
        other_actor = idempotency.claim(tx, "booking", fp, 6, at=_at(1))
        other_form = idempotency.claim(tx, "visit", fp, 5, at=_at(1))
        other_payload = idempotency.claim(tx, "booking", idempotency.fingerprint({"premise_id": 9}), 5)
    assert again.key == first.key
    assert len({first.key, other_actor.key, other_form.key, other_payload.key}) == 4
    assert 1 <= len(first.key) <= 64
    assert first.key.isascii()
    assert first.key.isalnum()
    assert (first.form, first.fingerprint, first.actor_id, first.created_at) == ("booking", fp, 5, T0)
    assert not first.settled


def test_a_settled_key_is_still_reused_until_retired(store: Store) -> None:
    fp = idempotency.fingerprint({"fullname": "Сидоров"})
    with store.write() as tx:
        claimed = idempotency.claim(tx, "client", fp, 5, at=T0)
    with store.write() as tx:
        settled = idempotency.settle(tx, claimed.key, "success", brusnika_id=42, message="ok", at=_at(1))
    assert settled is not None
    assert settled.settled
    assert (settled.outcome, settled.brusnika_id, settled.message, settled.settled_at) == (
        "success",
        42,
        "ok",
        _at(1),
    )
    with store.write() as tx:
        assert idempotency.claim(tx, "client", fp, 5, at=_at(2)).key == claimed.key  # a double click replays
        assert idempotency.retire(tx, claimed.key, at=_at(3)) is True
        assert idempotency.retire(tx, claimed.key) is False
        fresh = idempotency.claim(tx, "client", fp, 5, at=_at(4))
    assert fresh.key != claimed.key
    with store.read() as tx:
        old = idempotency.get(tx, claimed.key)
    assert old is not None
    assert old.retired_at == _at(3)
    assert old.outcome == "success"


def test_retire_form_forgets_every_payload_of_one_persons_form(store: Store) -> None:
    with store.write() as tx:
        a = idempotency.claim(tx, "booking", "a" * 64, 5)
        b = idempotency.claim(tx, "booking", "b" * 64, 5)
        other = idempotency.claim(tx, "booking", "a" * 64, 6)
        assert idempotency.retire_form(tx, "booking", 5) == 2
        assert idempotency.claim(tx, "booking", "a" * 64, 5).key not in {a.key, b.key}
        assert idempotency.claim(tx, "booking", "a" * 64, 6).key == other.key


def test_a_key_older_than_brusnika_remembers_is_replaced(store: Store) -> None:
    with store.write() as tx:
        old = idempotency.claim(tx, "booking", "f" * 64, 5, at=T0)
    with store.write() as tx:
        still = idempotency.claim(tx, "booking", "f" * 64, 5, at=T0 + idempotency.MAX_AGE)
        newer = idempotency.claim(tx, "booking", "f" * 64, 5, at=T0 + idempotency.MAX_AGE + dt.timedelta(1))
    assert still.key == old.key
    assert newer.key != old.key
    with store.read() as tx:
        retired = idempotency.get(tx, old.key)
    assert retired is not None
    assert retired.retired_at is not None


def test_in_flight_lists_claimed_but_never_settled(store: Store) -> None:
    with store.write() as tx:
        crashed = idempotency.claim(tx, "booking", "1" * 64, 5, at=T0)
        done = idempotency.claim(tx, "booking", "2" * 64, 5, at=T0)
        idempotency.settle(tx, done.key, "success")
        retired = idempotency.claim(tx, "booking", "3" * 64, 5, at=T0)
        idempotency.retire(tx, retired.key)
        recent = idempotency.claim(tx, "booking", "4" * 64, 5, at=_at(10))
    with store.read() as tx:
        assert [s.key for s in idempotency.in_flight(tx, older_than=dt.timedelta(minutes=5), at=_at(11))] == [
            crashed.key
        ]
        assert [s.key for s in idempotency.in_flight(tx, at=_at(11))] == [crashed.key, recent.key]
    with store.write() as tx:
        assert idempotency.settle(tx, "no-such-key", "success") is None
