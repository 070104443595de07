"""The policy enforced inside the form functions, against a real sandbox, a real cache file and the
operational store: a refused action sends nothing to Brusnika, says why, and is audited with the
acting identity."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from kontur.auth.actor import Actor
from kontur.cache import Cache
from kontur.client import BrusnikaClient
from kontur.forms import bookings, clients
from kontur.forms.context import FormContext
from kontur.sandbox.server import RunningSandbox
from kontur.store import schema
from kontur.store.db import Store
from tests.support import ops_store
from tests.support.form_records import book_through_forms
from tests.support.sandbox_records import free_premise, premise_booked
from tests.support.sandboxes import SandboxFactory
from tests.support.transport import CountingTransport

SEED = 777001


@pytest.fixture(scope="module")
def box(module_sandboxes: SandboxFactory) -> RunningSandbox:
    # Its own sandbox: these tests book premises, which other folders' tests would notice.
    return module_sandboxes(scale=0.02, seed=SEED)


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with Cache(tmp_path / "kontur.duckdb") as cache:
        cur = cache.cursor()
        yield cur
        cur.close()


@pytest.fixture
def store(box: RunningSandbox, tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'ops.sqlite'}") as opened:
        ops_store.seed(opened, box.admin().users())
        yield opened


@pytest.fixture
def transport() -> CountingTransport:
    return CountingTransport()


def ctx_for(
    box: RunningSandbox, conn: Any, store: Store, actor: Actor, transport: httpx.BaseTransport
) -> FormContext:
    client = BrusnikaClient(base_url=box.api_url, token=box.token, transport=transport)
    return FormContext(client=client, conn=conn, store=store, actor=actor, clock=dt.datetime.now)


def pick(
    box: RunningSandbox, *, role: str, not_agency: int | None = None, agency: int | None = None
) -> Actor:
    for row in box.admin().users():
        if (
            row["role"] == role
            and row["status"] == "active"
            and row["remaining_user_creation_limit"] > 0
            and (not_agency is None or row["agency_id"] != not_agency)
            and (agency is None or row["agency_id"] == agency)
        ):
            return Actor.from_row(row)
    pytest.fail(f"no active {role} in the sandbox data")


def audit_rows(store: Store, action: str) -> list[tuple]:
    return [(r["actor"], r["outcome"], r["brusnika_id"]) for r in ops_store.audit_rows(store, action)]


def book_as(box: RunningSandbox, conn: Any, store: Store, agent: Actor) -> tuple[int, int]:
    """The agent registers a client and books a free premise for them: (booking id, premise id)."""
    ctx = ctx_for(box, conn, store, agent, httpx.HTTPTransport())
    phone = f"+7999{SEED % 1000:03d}{agent.id % 10000:04d}"
    made = clients.create(ctx, clients.ClientInput(fullname="Сидорова Мария Ивановна", phone_number=phone))
    assert made.ok, made.message
    assert made.result is not None
    premise = free_premise(box)
    booked = book_through_forms(ctx, premise, made.result.id, days_ahead=2, time="11:00")
    return booked.id, premise["id"]


def test_agent_cannot_cancel_another_agencys_booking(
    box: RunningSandbox, conn: duckdb.DuckDBPyConnection, store: Store, transport: CountingTransport
) -> None:
    owner = pick(box, role="AGENT")
    booking_id, premise_id = book_as(box, conn, store, owner)
    assert premise_booked(box, premise_id)

    outsider = pick(box, role="AGENT", not_agency=owner.agency_id)
    outcome = bookings.cancel(ctx_for(box, conn, store, outsider, transport), booking_id)

    assert not outcome.ok
    assert outcome.code == "forbidden"
    assert "другому агентству" in outcome.message
    assert transport.sent == []  # nothing went to Brusnika
    assert premise_booked(box, premise_id)  # and the booking still holds the premise there
    stored = ops_store.row(store, schema.bookings, booking_id)
    assert stored is not None
    assert stored["status"] == "open"
    refused = audit_rows(store, "cancel_booking")
    assert len(refused) == 1
    actor, word, _ = refused[0]
    assert word == "refused"
    assert f"#{outsider.id}" in actor

    # A head of another agency is refused too; a manager may cancel anybody's booking.
    head = pick(box, role="HEAD_OF_AGENCY", not_agency=owner.agency_id)
    assert not bookings.cancel(ctx_for(box, conn, store, head, transport), booking_id).ok
    assert transport.sent == []
    manager = pick(box, role="MANAGER")
    cancelled = bookings.cancel(ctx_for(box, conn, store, manager, transport), booking_id)
    assert cancelled.ok, cancelled.message
    assert transport.sent == [f"POST /api/v1/bookings/{booking_id}/cancel"]
    assert not premise_booked(box, premise_id)
    outcomes = [(row[1], f"#{manager.id}" in row[0]) for row in audit_rows(store, "cancel_booking")]
    assert outcomes[-1] == ("success", True)


def test_new_member_cannot_book_and_nothing_is_sent(
    box: RunningSandbox, conn: duckdb.DuckDBPyConnection, store: Store, transport: CountingTransport
) -> None:
    newcomer = pick(box, role="NEW_MEMBER")
    premise = free_premise(box)
    outcome = bookings.create(
        ctx_for(box, conn, store, newcomer, transport),
        bookings.BookingInput(
            premise_id=premise["id"],
            client_id=1,
            date=dt.date.today() + dt.timedelta(days=2),
            time="11:00",
            purchase_option=premise["purchase_option"][0],
        ),
    )
    assert not outcome.ok
    assert outcome.code == "forbidden"
    assert "Новый участник" in outcome.message
    assert transport.sent == []
    assert not premise_booked(box, premise["id"])
    assert [row[1] for row in audit_rows(store, "create_booking")] == ["refused"]


def test_agent_cannot_book_for_another_agencys_client(
    box: RunningSandbox, conn: duckdb.DuckDBPyConnection, store: Store, transport: CountingTransport
) -> None:
    owner = pick(box, role="AGENT")
    made = clients.create(
        ctx_for(box, conn, store, owner, httpx.HTTPTransport()),
        clients.ClientInput(fullname="Орлов Олег Олегович", phone_number=f"+7998{owner.id:07d}"),
    )
    assert made.ok, made.message
    assert made.result is not None
    outsider = pick(box, role="AGENT", not_agency=owner.agency_id)
    premise = free_premise(box)
    outcome = bookings.create(
        ctx_for(box, conn, store, outsider, transport),
        bookings.BookingInput(
            premise_id=premise["id"],
            client_id=made.result.id,
            date=dt.date.today() + dt.timedelta(days=2),
            time="12:00",
            purchase_option=premise["purchase_option"][0],
        ),
    )
    assert not outcome.ok
    assert "другому агентству" in outcome.message
    assert transport.sent == []
    assert not premise_booked(box, premise["id"])
