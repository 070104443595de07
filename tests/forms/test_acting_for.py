"""Acting for an agent (issue 13): a manager books, shows and registers clients *for* an agent they
choose; the wire's `agent_id` is the agent, the agent's booking limit is checked and counted (not the
manager's), fixings are the agent's, and the audit names both. An agent acts for themself only; a head
of agency for their agency's agents. Against the real sandbox (counted on the wire), a real cache and
the operational store on both backends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import duckdb
import pytest

from kontur.auth.actor import Actor
from kontur.client import BrusnikaClient
from kontur.forms import bookings, clients, history, lookups, visits
from kontur.forms.context import FormContext
from kontur.forms.fixing import FIXING_OTHER_AGENT
from kontur.forms.flow import AGENT_NOT_ALLOWED
from kontur.models import Client
from kontur.sandbox.server import RunningSandbox
from kontur.store import schema
from kontur.store.db import Store
from tests.support import ops_store
from tests.support.form_records import client_through_forms, landlines
from tests.support.sandbox_records import free_premise_in_cache
from tests.support.transport import CountingTransport

from .conftest import directory_user
from .helpers import outbound_count

pytestmark = pytest.mark.parametrize("store_backend", ops_store.BACKENDS, indirect=True)

_phone = landlines(6_300_000, 11)
IN_THREE_DAYS = dt.date.today() + dt.timedelta(days=3)


def brusnika_limit(sandbox: RunningSandbox, user_id: int) -> int:
    with sandbox.admin() as admin:
        return int(next(u for u in admin.users() if u["id"] == user_id)["remaining_user_creation_limit"])


def booking_input(premise: dict, client: Client, time: str = "12:30") -> bookings.BookingInput:
    return bookings.BookingInput(
        premise_id=premise["id"],
        client_id=client.id,
        date=IN_THREE_DAYS,
        time=time,
        purchase_option=(premise["purchase_option"] or ["mortage"])[0],
    )


def new_client(ctx: FormContext, name: str) -> Client:
    return client_through_forms(ctx, name, _phone())


def test_manager_books_for_an_agent_whose_limit_is_counted(
    make_ctx: Callable[..., FormContext],
    conn: duckdb.DuckDBPyConnection,
    store: Store,
    forms_sandbox: RunningSandbox,
    agent: Actor,
) -> None:
    manager = Actor.from_row(directory_user(store, status="active", role="MANAGER"))
    ctx = make_ctx(actor=manager, agent_id=agent.id)
    client = new_client(ctx, "Для Агента Клиентова")
    assert client.agent_id == agent.id  # registered for the agent: Brusnika fixed it to them
    agent_before = (ops_store.remaining(store, agent.id), brusnika_limit(forms_sandbox, agent.id))
    manager_before = (ops_store.remaining(store, manager.id), brusnika_limit(forms_sandbox, manager.id))

    booked = bookings.create(ctx, booking_input(free_premise_in_cache(conn, forms_sandbox), client))
    assert booked.ok, booked.message
    assert booked.result is not None
    assert booked.result.agent_id == agent.id  # the wire's agent_id is the agent acted for
    assert ops_store.remaining(store, agent.id) == agent_before[0] - 1
    assert brusnika_limit(forms_sandbox, agent.id) == agent_before[1] - 1
    assert (
        ops_store.remaining(store, manager.id),
        brusnika_limit(forms_sandbox, manager.id),
    ) == manager_before
    ledger = ops_store.row(store, schema.bookings, booked.result.id)
    assert ledger is not None
    assert ledger["recorded_by"] == manager.id  # who recorded it here: the manager

    made = ops_store.audit_rows(store, "create_booking")[-1]
    assert (made["actor_id"], made["on_behalf_of"], made["outcome"]) == (manager.id, agent.id, "success")
    assert made["actor"] == f"{manager.name} (#{manager.id})"
    # The agent sees in their history what was done for them.
    _shown, seen = history.rows(store, agent)
    assert booked.result.id in {r.action.brusnika_id for r in seen if r.action.action == "create_booking"}
    assert any(r.agent.startswith(agent.name) for r in seen if r.action.brusnika_id == booked.result.id)


def test_the_agents_limit_is_checked_not_the_managers(
    make_ctx: Callable[..., FormContext],
    conn: duckdb.DuckDBPyConnection,
    store: Store,
    forms_sandbox: RunningSandbox,
    agent: Actor,
    counted: tuple[BrusnikaClient, CountingTransport],
) -> None:
    manager = Actor.from_row(directory_user(store, status="active", role="MANAGER"))
    spent = Actor.from_row(directory_user(store, status="active", role="AGENT", can_book=False))
    client = new_client(make_ctx(actor=manager, agent_id=spent.id), "Исчерпанова Ольга")
    api, transport = counted
    refused = bookings.create(
        make_ctx(actor=manager, agent_id=spent.id, client=api),
        booking_input(free_premise_in_cache(conn, forms_sandbox), client),
    )
    assert not refused.ok
    assert refused.code == "actor_cannot_book"
    assert f"У пользователя {spent.name} не осталось бронирований" in refused.message
    assert transport.sent == []
    row = ops_store.audit_rows(store, "create_booking")[-1]
    assert (row["outcome"], row["actor_id"], row["on_behalf_of"]) == ("refused", manager.id, spent.id)

    # A manager whose own limit is spent still books for an agent who has bookings left.
    with store.write() as tx:
        tx.execute(
            schema.users.update()
            .where(schema.users.c.id == manager.id)
            .values(remaining_user_creation_limit=0)
        )
    for_agent = make_ctx(actor=manager, agent_id=agent.id)
    theirs = new_client(for_agent, "Лимитова Вера")
    premise = free_premise_in_cache(conn, forms_sandbox)
    booked = bookings.create(for_agent, booking_input(premise, theirs, "15:10"))
    assert booked.ok, booked.message


def test_an_agent_acts_for_themself_only(
    make_ctx: Callable[..., FormContext],
    store: Store,
    agent: Actor,
    counted: tuple[BrusnikaClient, CountingTransport],
) -> None:
    colleague = Actor.from_row(
        directory_user(store, status="active", role="AGENT", agency_id=agent.agency_id, id_not=agent.id)
    )
    api, transport = counted
    outcome = clients.create(
        make_ctx(actor=agent, agent_id=colleague.id, client=api),
        clients.ClientInput(fullname="Чужой Агентов", phone_number=_phone()),
    )
    assert not outcome.ok
    assert outcome.code == AGENT_NOT_ALLOWED
    assert "действует только от своего имени" in outcome.message
    assert transport.sent == []
    assert ops_store.audit_rows(store, "create_client")[-1]["outcome"] == "refused"


def test_a_head_acts_for_their_agencys_agents_only(
    make_ctx: Callable[..., FormContext],
    store: Store,
    forms_sandbox: RunningSandbox,
    counted: tuple[BrusnikaClient, CountingTransport],
) -> None:
    head = Actor.from_row(directory_user(store, status="active", role="HEAD_OF_AGENCY"))
    member = Actor.from_row(directory_user(store, status="active", role="AGENT", agency_id=head.agency_id))
    stranger = Actor.from_row(
        directory_user(store, status="active", role="AGENT", agency_id_not=head.agency_id)
    )
    made = new_client(make_ctx(actor=head, agent_id=member.id), "Агентствова Алла")
    assert made.agent_id == member.id
    api, transport = counted
    outcome = clients.create(
        make_ctx(actor=head, agent_id=stranger.id, client=api),
        clients.ClientInput(fullname="Чужова Агентства", phone_number=_phone()),
    )
    assert not outcome.ok
    assert outcome.code == AGENT_NOT_ALLOWED
    assert "не из вашего агентства" in outcome.message
    assert transport.sent == []


def test_fixing_is_checked_for_the_agent_acted_for(
    make_ctx: Callable[..., FormContext],
    conn: duckdb.DuckDBPyConnection,
    store: Store,
    forms_sandbox: RunningSandbox,
    agent: Actor,
    counted: tuple[BrusnikaClient, CountingTransport],
) -> None:
    """A client fixed to agent A cannot be booked, shown or given a slot for agent B."""
    manager = Actor.from_row(directory_user(store, status="active", role="MANAGER"))
    other = Actor.from_row(
        directory_user(store, status="active", role="AGENT", can_book=True, id_not=agent.id)
    )
    client = new_client(make_ctx(actor=manager, agent_id=agent.id), "Закреплёнова Нина")
    api, transport = counted
    ctx = make_ctx(actor=manager, agent_id=other.id, client=api)
    before = outbound_count(forms_sandbox, "bookings")
    booked = bookings.create(ctx, booking_input(free_premise_in_cache(conn, forms_sandbox), client))
    project_id = lookups.projects(conn)[0]["id"]
    shown = visits.create(
        ctx,
        visits.VisitInput(
            project_id=project_id, client_id=client.id, time_slot_id=None, date=IN_THREE_DAYS, time="11:00"
        ),
    )
    for outcome in (booked, shown):
        assert not outcome.ok
        assert outcome.code == FIXING_OTHER_AGENT
        assert f"№{agent.id}" in outcome.message
        assert outcome.field_errors["client_id"] == outcome.message
    assert transport.sent == []
    assert outbound_count(forms_sandbox, "bookings") == before


def test_a_new_member_cannot_be_acted_for(
    make_ctx: Callable[..., FormContext],
    store: Store,
    counted: tuple[BrusnikaClient, CountingTransport],
) -> None:
    manager = Actor.from_row(directory_user(store, status="active", role="MANAGER"))
    newcomer = Actor.from_row(directory_user(store, status="active", role="NEW_MEMBER"))
    api, transport = counted
    outcome = clients.create(
        make_ctx(actor=manager, agent_id=newcomer.id, client=api),
        clients.ClientInput(fullname="Новичкова Ира", phone_number=_phone()),
    )
    assert not outcome.ok
    assert outcome.code == AGENT_NOT_ALLOWED
    assert "не может быть агентом" in outcome.message
    assert transport.sent == []
