"""Fixing enforced before anything is sent (issue 11): a booking, a visit (in a slot or not) and a slot
for a client whose fixing Brusnika refused, or whose fixing has expired, are refused with the reason;
the sandbox receives nothing (counted on the wire) and the audit says `refused`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import duckdb
import pytest
import sqlalchemy as sa

from kontur.auth import directory
from kontur.auth.actor import Actor
from kontur.client import BrusnikaClient
from kontur.forms import bookings, clients, visits
from kontur.forms.context import FormContext
from kontur.forms.fixing import CLIENT_UNKNOWN, FIXING_EXPIRED, FIXING_REFUSED
from kontur.models import Client, FixingType
from kontur.sandbox.server import RunningSandbox
from kontur.store import schema
from kontur.store.db import Store
from tests.support import ops_store
from tests.support.form_records import landlines
from tests.support.sandbox_records import free_premise
from tests.support.transport import CountingTransport

from .helpers import outbound_count, records

phone = landlines(5_200_000, 17)
IN_TWO_DAYS = dt.date.today() + dt.timedelta(days=2)


def other_agent(store: Store, not_id: int) -> Actor:
    with store.read() as tx:
        rows = directory.users(tx)
    for row in rows:
        usable = row["status"] == "active" and row["remaining_user_creation_limit"] > 0
        if row["role"] == "AGENT" and usable and row["id"] != not_id:
            return Actor.from_row(row)
    pytest.fail("no second active agent with bookings left")


def refused_client(make_ctx: Callable[..., FormContext], owner: Actor, second: Actor) -> Client:
    """The same phone registered by two agents: Brusnika fixes it to the first, refuses the second."""
    number = phone()
    first = clients.create(
        make_ctx(actor=owner), clients.ClientInput(fullname="Павлова Нина", phone_number=number)
    )
    assert first.ok, first.message
    made = clients.create(
        make_ctx(actor=second), clients.ClientInput(fullname="Павлова Нина", phone_number=number)
    )
    assert made.ok, made.message
    assert made.result is not None
    assert made.result.fixing_type == FixingType.REFUSED
    return made.result


def future_slot(conn: duckdb.DuckDBPyConnection, sandbox: RunningSandbox) -> tuple[int, int]:
    truth = records(sandbox, "time-slots")
    for slot_id, project_id in conn.execute(
        "SELECT id, project_id FROM time_slots WHERE NOT is_booked AND date > current_date ORDER BY id"
    ).fetchall():
        if not truth[slot_id]["is_booked"]:
            return slot_id, project_id
    pytest.fail("no free future slot")


def audited(store: Store, action: str) -> tuple:
    rows = ops_store.audit_rows(store, action)
    assert rows
    return rows[-1]["outcome"], rows[-1]["message"]


def test_refused_fixing_blocks_booking_visit_and_slot(
    make_ctx: Callable[..., FormContext],
    conn: duckdb.DuckDBPyConnection,
    store: Store,
    forms_sandbox: RunningSandbox,
    agent: Actor,
    counted: tuple[BrusnikaClient, CountingTransport],
) -> None:
    second = other_agent(store, agent.id)
    client = refused_client(make_ctx, agent, second)
    api, transport = counted
    ctx = make_ctx(actor=second, client=api)
    before = {kind: outbound_count(forms_sandbox, kind) for kind in ("bookings", "visits")}
    premise = free_premise(forms_sandbox)
    slot_id, project_id = future_slot(conn, forms_sandbox)

    booked = bookings.create(
        ctx,
        bookings.BookingInput(
            premise_id=premise["id"],
            client_id=client.id,
            date=IN_TWO_DAYS,
            time="10:00",
            purchase_option=premise["purchase_option"][0],
        ),
    )
    shown = visits.create(
        ctx, visits.VisitInput(project_id=project_id, client_id=client.id, time_slot_id=slot_id)
    )
    free = visits.create(
        ctx,
        visits.VisitInput(
            project_id=project_id, client_id=client.id, time_slot_id=None, date=IN_TWO_DAYS, time="16:00"
        ),
    )
    held = visits.book_slot(ctx, slot_id, client.id)

    for outcome in (booked, shown, free, held):
        assert not outcome.ok
        assert outcome.code == FIXING_REFUSED
        assert "отказала в закреплении" in outcome.message
        assert "Ничего не отправлено" in outcome.message
        assert outcome.field_errors["client_id"] == outcome.message
    assert transport.sent == []  # nothing reached Brusnika
    assert {kind: outbound_count(forms_sandbox, kind) for kind in before} == before
    assert records(forms_sandbox, "premises")[premise["id"]]["is_booked"] is False
    assert records(forms_sandbox, "time-slots")[slot_id]["is_booked"] is False
    for action in ("create_booking", "create_visit", "book_time_slot"):
        word, reason = audited(store, action)
        assert word == "refused"
        assert "отказала в закреплении" in reason


def test_expired_fixing_blocks_booking(
    make_ctx: Callable[..., FormContext],
    conn: duckdb.DuckDBPyConnection,
    store: Store,
    forms_sandbox: RunningSandbox,
    agent: Actor,
    counted: tuple[BrusnikaClient, CountingTransport],
) -> None:
    made = clients.create(make_ctx(), clients.ClientInput(fullname="Гусев Олег", phone_number=phone()))
    assert made.ok, made.message
    assert made.result is not None
    assert made.result.fixing_type != FixingType.REFUSED
    # Time passes: the fixing's end as Brusnika set it is behind us now.
    ended = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    with store.write() as tx:
        tx.execute(
            sa.update(schema.clients)
            .where(schema.clients.c.id == made.result.id)
            .values(expiration_date=ended)
        )
    api, transport = counted
    premise = free_premise(forms_sandbox)
    before = outbound_count(forms_sandbox, "bookings")
    outcome = bookings.create(
        make_ctx(client=api),
        bookings.BookingInput(
            premise_id=premise["id"],
            client_id=made.result.id,
            date=IN_TWO_DAYS,
            time="10:30",
            purchase_option=premise["purchase_option"][0],
        ),
    )
    assert not outcome.ok
    assert outcome.code == FIXING_EXPIRED
    assert "Закрепление клиента истекло" in outcome.message
    assert transport.sent == []
    assert outbound_count(forms_sandbox, "bookings") == before
    assert audited(store, "create_booking")[0] == "refused"


def test_client_never_seen_here_cannot_be_checked(
    make_ctx: Callable[..., FormContext],
    conn: duckdb.DuckDBPyConnection,
    store: Store,
    forms_sandbox: RunningSandbox,
    counted: tuple[BrusnikaClient, CountingTransport],
) -> None:
    with store.read() as tx:
        manager = Actor.from_row(
            next(u for u in directory.users(tx) if u["role"] == "MANAGER" and u["status"] == "active")
        )
        unknown = 1 + int(
            tx.execute(sa.select(sa.func.coalesce(sa.func.max(schema.clients.c.id), 0))).scalar_one()
        )
    api, transport = counted
    premise = free_premise(forms_sandbox)
    outcome = bookings.create(
        make_ctx(actor=manager, client=api),
        bookings.BookingInput(
            premise_id=premise["id"],
            client_id=unknown,
            date=IN_TWO_DAYS,
            time="11:00",
            purchase_option=premise["purchase_option"][0],
        ),
    )
    assert not outcome.ok
    assert outcome.code == CLIENT_UNKNOWN
    assert "не найден в Контуре" in outcome.message
    assert transport.sent == []
