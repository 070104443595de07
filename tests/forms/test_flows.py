"""The form actions end to end against the real sandbox, a real DuckDB cache and Kontur's operational
store (SQLite and PostgreSQL): what Brusnika ends up holding, what the cache's flags and the lists show
at once, what the person is told, and what the audit keeps."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import duckdb
import pytest
from stdnum.ru import inn as stdnum_inn

from kontur.auth.actor import Actor
from kontur.auth.scopes import ReadScope
from kontur.client import BrusnikaClient
from kontur.forms import agencies, bookings, clients, lookups, visits
from kontur.forms.context import FormContext
from kontur.models import Client, FixingType
from kontur.sandbox.server import RunningSandbox
from kontur.store.db import Store
from tests.support import ops_store
from tests.support.form_records import landlines
from tests.support.sandbox_records import free_premise_in_cache

from .conftest import directory_user
from .helpers import outbound_count, records

# The booking flows on both backends of the store (the dashboard's SQLite, the replicas' PostgreSQL).
pytestmark = pytest.mark.parametrize("store_backend", ops_store.BACKENDS, indirect=True)

TOMORROW = dt.date.today() + dt.timedelta(days=1)


_phone = landlines(3_100_000, 7)


@pytest.fixture
def client_record(make_ctx: Callable[..., FormContext]) -> Client:
    outcome = clients.create(
        make_ctx(), clients.ClientInput(fullname="Иванова Анна Сергеевна", phone_number=_phone())
    )
    assert outcome.ok, outcome.message
    assert outcome.result is not None
    return outcome.result


def _premise_in_sandbox(sandbox: RunningSandbox, premise_id: int) -> dict:
    return records(sandbox, "premises")[premise_id]


def _premise_in_cache(conn: duckdb.DuckDBPyConnection, premise_id: int) -> bool:
    row = conn.execute("SELECT is_booked FROM premises WHERE id = ?", [premise_id]).fetchone()
    assert row is not None
    return bool(row[0])


def booking_count(sandbox: RunningSandbox) -> int:
    return outbound_count(sandbox, "bookings")


def _booking_input(premise: dict, client: Client) -> bookings.BookingInput:
    return bookings.BookingInput(
        premise_id=premise["id"],
        client_id=client.id,
        date=TOMORROW,
        time="11:30",
        purchase_option=(premise["purchase_option"] or ["mortage"])[0],
    )


def test_book_then_cancel_updates_brusnika_and_cache(
    make_ctx: Callable[..., FormContext],
    conn: duckdb.DuckDBPyConnection,
    store: Store,
    forms_sandbox: RunningSandbox,
    client_record: Client,
) -> None:
    premise = free_premise_in_cache(conn, forms_sandbox)
    ctx = make_ctx()
    booked = bookings.create(ctx, _booking_input(premise, client_record))
    assert booked.ok, booked.message
    assert booked.result is not None
    assert booked.result.status == "open"
    assert _premise_in_sandbox(forms_sandbox, premise["id"])["is_booked"] is True
    assert _premise_in_cache(conn, premise["id"]) is True  # at once, before any sync
    assert premise["id"] not in {
        p["id"] for p in lookups.free_premises(conn, premise_id_building(conn, premise))
    }
    listed = {b["id"]: b for b in lookups.bookings_here(store, conn, ReadScope.everyone())}
    assert listed[booked.result.id]["status"] == "open"
    assert listed[booked.result.id]["premise_number"] == premise["number"]  # the label from the cache
    assert listed[booked.result.id]["client_name"] == client_record.fullname

    cancelled = bookings.cancel(ctx, booked.result.id)
    assert cancelled.ok, cancelled.message
    assert _premise_in_sandbox(forms_sandbox, premise["id"])["is_booked"] is False
    assert _premise_in_cache(conn, premise["id"]) is False
    listed = {b["id"]: b for b in lookups.bookings_here(store, conn, ReadScope.everyone())}
    assert listed[booked.result.id]["status"] == "fail"

    again = bookings.cancel(ctx, booked.result.id)  # same key: replays the cancellation, no error
    assert again.ok
    ctx.keys.forget(f"cancel_booking.{booked.result.id}")
    refused = bookings.cancel(ctx, booked.result.id)  # a new attempt: Brusnika says it is not open
    assert not refused.ok
    assert refused.code == "booking_not_open"
    assert "уже не открыта" in refused.message


def premise_id_building(conn: duckdb.DuckDBPyConnection, premise: dict) -> int:
    row = conn.execute("SELECT building_id FROM premises WHERE id = ?", [premise["id"]]).fetchone()
    assert row is not None
    return int(row[0])


def test_double_submit_creates_exactly_one_booking(
    make_ctx: Callable[..., FormContext],
    conn: duckdb.DuckDBPyConnection,
    forms_sandbox: RunningSandbox,
    client_record: Client,
) -> None:
    premise = free_premise_in_cache(conn, forms_sandbox)
    before = booking_count(forms_sandbox)
    first = bookings.create(make_ctx(), _booking_input(premise, client_record))
    second = bookings.create(make_ctx(), _booking_input(premise, client_record))
    assert first.ok, first.message
    assert second.ok, second.message
    assert first.result is not None
    assert second.result is not None
    assert first.result.id == second.result.id
    assert booking_count(forms_sandbox) == before + 1


def test_lost_answer_is_retried_with_the_same_key(
    make_ctx: Callable[..., FormContext],
    conn: duckdb.DuckDBPyConnection,
    forms_sandbox: RunningSandbox,
    client_record: Client,
    losing_client: Callable[..., BrusnikaClient],
) -> None:
    """Brusnika booked, but its answer never arrived: the check by repeat finds the one booking."""
    premise = free_premise_in_cache(conn, forms_sandbox)
    before = booking_count(forms_sandbox)
    outcome = bookings.create(
        make_ctx(client=losing_client(1, "after")), _booking_input(premise, client_record)
    )
    assert outcome.ok, outcome.message
    assert booking_count(forms_sandbox) == before + 1
    assert _premise_in_cache(conn, premise["id"]) is True


def test_no_answer_then_refusal_is_the_refusal(
    make_ctx: Callable[..., FormContext],
    conn: duckdb.DuckDBPyConnection,
    forms_sandbox: RunningSandbox,
    client_record: Client,
    losing_client: Callable[..., BrusnikaClient],
    api: BrusnikaClient,
) -> None:
    """The request never reached Brusnika and meanwhile someone else booked the premise: the
    transport's repeat (same key) is refused, which proves our attempt created nothing."""
    premise = free_premise_in_cache(conn, forms_sandbox)
    before = booking_count(forms_sandbox)
    other = make_ctx()
    taken = bookings.create(other, _booking_input(premise, client_record))
    assert taken.ok
    # Our cache still thinks it is free (another Kontur session booked it).
    conn.execute("UPDATE premises SET is_booked = false WHERE id = ?", [premise["id"]])
    values = _booking_input(premise, client_record)
    values.time = "15:00"
    losing = losing_client(1, "before")
    outcome = bookings.create(make_ctx(client=losing), values)
    assert not outcome.ok
    assert outcome.code == "premise_unavailable"
    assert "забронировано или продано" in outcome.message
    assert booking_count(forms_sandbox) == before + 1
    assert losing._http._transport._transport.posts == 2  # type: ignore[attr-defined]  # lost, then refused


def test_no_answer_at_all_does_not_claim_nothing_was_created(
    make_ctx: Callable[..., FormContext],
    conn: duckdb.DuckDBPyConnection,
    forms_sandbox: RunningSandbox,
    client_record: Client,
    losing_client: Callable[..., BrusnikaClient],
) -> None:
    premise = free_premise_in_cache(conn, forms_sandbox)
    before = booking_count(forms_sandbox)
    # Both the attempt and its check go unanswered (after Brusnika did the work the first time).
    outcome = bookings.create(
        make_ctx(client=losing_client(2, "after")), _booking_input(premise, client_record)
    )
    assert not outcome.ok
    assert "ничего не создано" not in outcome.message
    assert "тем же ключом" in outcome.message
    # The person clicks again once Brusnika answers: the kept key finds the one booking.
    retried = bookings.create(make_ctx(), _booking_input(premise, client_record))
    assert retried.ok, retried.message
    assert booking_count(forms_sandbox) == before + 1


def test_booked_premise_is_refused_in_words(
    make_ctx: Callable[..., FormContext],
    conn: duckdb.DuckDBPyConnection,
    forms_sandbox: RunningSandbox,
    client_record: Client,
) -> None:
    booked = next(
        p for p in records(forms_sandbox, "premises").values() if p["is_booked"] and not p["is_sold"]
    )
    outcome = bookings.create(
        make_ctx(),
        bookings.BookingInput(
            premise_id=booked["id"], client_id=client_record.id, date=TOMORROW, time="10:00",
            purchase_option="full_payment",
        ),
    )  # fmt: skip
    assert not outcome.ok
    assert outcome.code == "premise_unavailable"
    assert outcome.message == "Помещение уже забронировано или продано — выберите другое."


def test_past_date_and_bad_time_refused_before_sending(
    make_ctx: Callable[..., FormContext], conn: duckdb.DuckDBPyConnection, client_record: Client,
    forms_sandbox: RunningSandbox,
) -> None:  # fmt: skip
    premise = free_premise_in_cache(conn, forms_sandbox)
    before = outbound_count(forms_sandbox, "bookings")
    values = _booking_input(premise, client_record)
    values.date = dt.date.today() - dt.timedelta(days=1)
    values.time = "25:00"
    outcome = bookings.create(make_ctx(), values)
    assert not outcome.ok
    assert outcome.code == "invalid"
    assert set(outcome.field_errors) == {"time", "date"}
    values.time = "10:00"
    outcome = bookings.create(make_ctx(), values)
    assert outcome.field_errors == {"date": "Дата уже прошла — выберите сегодняшнюю или более позднюю."}
    assert outbound_count(forms_sandbox, "bookings") == before


def test_blocked_user_and_exhausted_limit_cannot_book(
    make_ctx: Callable[..., FormContext], conn: duckdb.DuckDBPyConnection, client_record: Client,
    forms_sandbox: RunningSandbox, store: Store,
) -> None:  # fmt: skip
    premise = free_premise_in_cache(conn, forms_sandbox)
    blocked = Actor.from_row(directory_user(store, status="blocked"))
    outcome = bookings.create(make_ctx(actor=blocked), _booking_input(premise, client_record))
    assert not outcome.ok
    assert "заблокирован" in outcome.message
    spent = Actor.from_row(directory_user(store, status="active", can_book=False))
    outcome = bookings.create(make_ctx(actor=spent), _booking_input(premise, client_record))
    assert not outcome.ok
    assert "не осталось бронирований" in outcome.message
    assert _premise_in_sandbox(forms_sandbox, premise["id"])["is_booked"] is False


def test_visit_with_slot_books_it_and_cancel_releases_it(
    make_ctx: Callable[..., FormContext],
    conn: duckdb.DuckDBPyConnection,
    store: Store,
    forms_sandbox: RunningSandbox,
    client_record: Client,
) -> None:
    truth = records(forms_sandbox, "time-slots")
    slot = next(
        s for s in conn.execute(
            "SELECT id, project_id FROM time_slots WHERE NOT is_booked AND date > current_date ORDER BY id"
        ).fetchall()
        if not truth[s[0]]["is_booked"]
    )  # fmt: skip
    ctx = make_ctx()
    made = visits.create(
        ctx, visits.VisitInput(project_id=slot[1], client_id=client_record.id, time_slot_id=slot[0])
    )
    assert made.ok, made.message
    assert made.result is not None
    assert made.result.time_slot_id == slot[0]
    assert records(forms_sandbox, "time-slots")[slot[0]]["is_booked"] is True
    listed = lookups.visits_here(store, conn, ReadScope.everyone())[0]
    assert listed["id"] == made.result.id
    assert listed["slot_is_booked"] is True  # the cache's flag, set at once

    taken = visits.book_slot(make_ctx(), slot[0], client_record.id)
    assert not taken.ok
    assert taken.code == "slot_taken"
    assert "уже занято" in taken.message

    cancelled = visits.cancel(ctx, made.result.id)
    assert cancelled.ok, cancelled.message
    assert records(forms_sandbox, "time-slots")[slot[0]]["is_booked"] is False
    row = conn.execute("SELECT is_booked FROM time_slots WHERE id = ?", [slot[0]]).fetchone()
    assert row == (False,)


def test_client_refused_fixing_is_explained(make_ctx: Callable[..., FormContext], store: Store) -> None:
    phone = _phone()
    first = clients.create(make_ctx(), clients.ClientInput(fullname="Петров Пётр", phone_number=phone))
    assert first.ok, first.message
    assert first.result is not None
    assert first.result.fixing_type == FixingType.WEAK
    summary = clients.fixing_summary(first.result, now=dt.datetime.now(dt.UTC))
    assert summary["reason"] is None
    assert summary["agent"] == f"Закреплён за: агент №{first.result.agent_id}"
    assert summary["countdown"] is not None
    assert summary["countdown"].startswith("До окончания закрепления:")
    other = Actor.from_row(
        directory_user(store, status="active", role="AGENT", agency_id=_other_agency(store, first.result))
    )
    # The same phone typed differently by another agent: normalised to the same number, refused.
    second = clients.create(
        make_ctx(actor=other),
        clients.ClientInput(fullname="Петров Пётр", phone_number=phone.replace(" ", "")),
    )
    assert second.ok, second.message
    assert second.result is not None
    assert second.result.phone_number == first.result.phone_number
    assert second.result.fixing_type == FixingType.REFUSED
    words = clients.fixing_summary(second.result, now=dt.datetime.now(dt.UTC))
    assert words["decision"] == "В закреплении отказано"
    assert words["reason"] == clients.REFUSAL_REASON
    found = clients.search(make_ctx(), phone)
    assert found.ok
    assert {c.id for c in found.result or []} >= {first.result.id, second.result.id}


_INNS = iter(range(5_001_007_322, 5_001_107_322, 37))


def _fresh_inn() -> str:
    """A 12-digit INN with valid check digits, new to this session."""
    base = str(next(_INNS))
    return base + stdnum_inn.calc_personal_check_digits(base)


def _other_agency(store: Store, client: Client) -> int:
    """An agency other than the client's agent's (whose agents hold no fixing of that client)."""
    mine = directory_user(store, id=client.agent_id)["agency_id"]
    return directory_user(store, status="active", role="AGENT", agency_id_not=mine)["agency_id"]


def test_agency_bad_inn_refused_locally_and_existing_one_shown(
    make_ctx: Callable[..., FormContext], conn: duckdb.DuckDBPyConnection, store: Store
) -> None:
    city = conn.execute("SELECT min(id) FROM cities").fetchone()[0]
    values = agencies.AgencyInput(
        title="Домострой", city_id=city, legal_name="ООО «Домострой»", inn="7707083894",
        phone="8 343 222-33-44", email="info@domostroy.ru", owner_full_name="Сидоров С. С.",
        owner_phone="+7 (912) 000-11-22",
    )  # fmt: skip
    bad = agencies.create(make_ctx(), values)
    assert not bad.ok
    assert set(bad.field_errors) == {"inn"}
    values.inn = _fresh_inn()  # unregistered: the sandbox lives as long as the session
    made = agencies.create(make_ctx(), values)
    assert made.ok, made.message
    assert made.result is not None
    assert made.result.phone == "+73432223344"
    values.title = "Домострой-2"
    dup = agencies.create(make_ctx(), values)
    assert not dup.ok
    assert dup.code == "agency_exists"
    assert dup.details["existing"].id == made.result.id
    assert "Домострой" in dup.message
    assert str(made.result.id) in dup.message
    found = agencies.search(make_ctx(), "Домострой")
    assert found.ok
    assert made.result.id in {a.id for a in found.result or []}
    assert made.result.id in {a["id"] for a in lookups.agencies_here(store)}  # recorded in the store


def test_audit_holds_every_action_without_the_token(
    make_ctx: Callable[..., FormContext],
    conn: duckdb.DuckDBPyConnection,
    store: Store,
    forms_sandbox: RunningSandbox,
    client_record: Client,
    agent: Actor,
) -> None:
    premise = free_premise_in_cache(conn, forms_sandbox)
    ctx = make_ctx()
    booked = bookings.create(ctx, _booking_input(premise, client_record))
    assert booked.ok
    assert booked.result is not None
    assert bookings.cancel(ctx, booked.result.id).ok
    rows = ops_store.audit_rows(store)
    kinds = [r["action"] for r in rows]
    assert kinds[-3:] == ["create_client", "create_booking", "cancel_booking"]
    created = rows[-2]
    assert created["outcome"] == "success"
    assert created["brusnika_id"] == booked.result.id
    assert created["actor"] == f"{agent.name} (#{agent.id})"
    assert created["actor_id"] == agent.id
    assert created["on_behalf_of"] == agent.id  # acting for themself: the agent is the actor
    assert created["request"]["premise_id"] == premise["id"]
    assert created["idempotency_key"]
    assert rows[-1]["on_behalf_of"] == agent.id  # a cancellation is for the booking's agent
    dump = json.dumps(rows, default=str)
    assert forms_sandbox.token not in dump
    assert "Bearer" not in dump


def test_slot_booked_alone(
    make_ctx: Callable[..., FormContext],
    conn: duckdb.DuckDBPyConnection,
    forms_sandbox: RunningSandbox,
    client_record: Client,
) -> None:
    truth = records(forms_sandbox, "time-slots")
    slot_id = next(
        row[0]
        for row in conn.execute(
            "SELECT id FROM time_slots WHERE NOT is_booked AND date > current_date ORDER BY id DESC"
        ).fetchall()
        if not truth[row[0]]["is_booked"]
    )
    outcome = visits.book_slot(make_ctx(), slot_id, client_record.id)
    assert outcome.ok, outcome.message
    assert outcome.result is not None
    assert outcome.result.is_booked is True
    assert records(forms_sandbox, "time-slots")[slot_id]["is_booked"] is True
    assert conn.execute("SELECT is_booked FROM time_slots WHERE id = ?", [slot_id]).fetchone() == (True,)
    again = visits.book_slot(make_ctx(), slot_id, client_record.id)  # a rerun: replayed
    assert again.ok, again.message
