"""The ten outbound methods on their happy path, over real HTTP, checked against the sandbox's own state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from kontur.client import BrusnikaClient
from kontur.models import (
    Agency,
    AgencyCreate,
    Booking,
    BookingCreate,
    Client,
    ClientCreate,
    FixingType,
    PurchaseOption,
    RequestStatus,
    TimeSlot,
    TimeSlotBookRequest,
    User,
    Visit,
    VisitCreate,
)
from kontur.sandbox.server import RunningSandbox
from tests.support.sandbox_records import active_agent, active_users, free_premise, free_slot


def new_client(
    client: BrusnikaClient, agent_id: int, phone: str, name: str = "Тестова Мария Ивановна"
) -> Client:
    return client.create_client(ClientCreate(fullname=name, phone_number=phone, agent_id=agent_id))


def test_put_user_round_trips(client: BrusnikaClient, sandbox: RunningSandbox) -> None:
    user = User.model_validate(active_agent(sandbox, bookings_left=2))
    # Upserting the user unchanged changes nothing the other tests could notice.
    assert client.put_user(user) == user


def test_put_user_creates_and_updates(
    private_sandbox: RunningSandbox, client_factory: Callable[..., BrusnikaClient]
) -> None:
    admin = private_sandbox.admin()
    new_id = max(u["id"] for u in admin.users()) + 100
    user = User(
        id=new_id, last_name="Новикова", first_name="Ольга", phone="+79990001234", email="o.n@example.ru",
        status="active", role="AGENT", birth_date=dt.date(1991, 2, 3), remaining_user_creation_limit=2,
    )  # fmt: skip
    with client_factory(private_sandbox) as client:
        assert client.put_user(user) == user
        updated = user.model_copy(update={"email": "olga@example.ru"})
        assert client.put_user(updated).email == "olga@example.ru"
    stored = {u["id"]: u for u in admin.users()}[new_id]
    assert stored["email"] == "olga@example.ru"
    assert stored["lastName"] == "Новикова"


def test_create_and_search_agency(
    client: BrusnikaClient, sandbox: RunningSandbox, fresh_inn: Callable[[], str]
) -> None:
    city_id = sandbox.admin().records("cities")[0]["id"]
    inn = fresh_inn()
    request = AgencyCreate(
        title="Агентство Тест", city_id=city_id, legal_name="ООО «Агентство Тест»", inn=inn,
        phone="+73432000000", email="info@agency.example", owner_full_name="Петров Пётр Петрович",
        owner_phone="+79991112233",
    )  # fmt: skip
    created = client.create_agency(request)
    assert isinstance(created, Agency)
    assert created.inn == inn
    assert created.legal_name == "ООО «Агентство Тест»"
    assert [a.id for a in client.search_agencies(inn=inn)] == [created.id]
    assert created.id in {a.id for a in client.search_agencies(title="Агентство Тест")}


def test_create_and_search_client(
    client: BrusnikaClient, sandbox: RunningSandbox, fresh_phone: Callable[[], str]
) -> None:
    agent = active_agent(sandbox, bookings_left=2)
    phone = fresh_phone()
    created = new_client(client, agent["id"], phone, name="Клиентов Пётр Сергеевич")
    assert isinstance(created, Client)
    assert created.phone_number == phone
    # A phone nobody holds is fixed to the agent, not refused.
    assert created.fixing_type != FixingType.REFUSED
    assert [c.id for c in client.search_clients(phone_number=phone)] == [created.id]
    assert created.id in {c.id for c in client.search_clients(fullname="Клиентов Пётр Сергеевич")}


def test_refused_fixing_is_a_created_client(
    client: BrusnikaClient, sandbox: RunningSandbox, fresh_phone: Callable[[], str]
) -> None:
    agents = active_users(sandbox)
    assert len(agents) >= 2
    phone = fresh_phone()
    first = new_client(client, agents[0]["id"], phone)
    second = new_client(client, agents[1]["id"], phone)
    assert first.fixing_type != FixingType.REFUSED
    assert second.fixing_type == FixingType.REFUSED


def test_booking_and_cancel(
    client: BrusnikaClient, sandbox: RunningSandbox, fresh_phone: Callable[[], str]
) -> None:
    agent = active_agent(sandbox, bookings_left=2)
    buyer = new_client(client, agent["id"], fresh_phone())
    premise = free_premise(sandbox, with_option=True)
    booking = client.create_booking(
        BookingCreate(
            premise_id=premise["id"], client_id=buyer.id, agent_id=agent["id"], date=dt.date.today(),
            time="11:00", purchase_option=PurchaseOption(premise["purchase_option"][0]),
        )
    )  # fmt: skip
    assert isinstance(booking, Booking)
    assert booking.status == RequestStatus.OPEN
    assert {p["id"]: p for p in sandbox.admin().records("premises")}[premise["id"]]["is_booked"] is True
    cancelled = client.cancel_booking(booking.id)
    assert cancelled.id == booking.id
    assert cancelled.status == RequestStatus.FAIL
    assert {p["id"]: p for p in sandbox.admin().records("premises")}[premise["id"]]["is_booked"] is False


def test_visit_with_slot_and_cancel(
    client: BrusnikaClient, sandbox: RunningSandbox, fresh_phone: Callable[[], str]
) -> None:
    agent = active_agent(sandbox, bookings_left=2)
    visitor = new_client(client, agent["id"], fresh_phone())
    slot = free_slot(sandbox)
    visit = client.create_visit(
        VisitCreate(
            project_id=slot["project_id"], agent_id=agent["id"], client_id=visitor.id,
            date=dt.date.fromisoformat(slot["date"]), time=slot["time"], time_slot_id=slot["id"],
        )
    )  # fmt: skip
    assert isinstance(visit, Visit)
    assert visit.status == RequestStatus.OPEN
    assert visit.time_slot_id == slot["id"]
    slots = {s["id"]: s for s in sandbox.admin().records("time-slots")}
    assert slots[slot["id"]]["is_booked"] is True
    cancelled = client.cancel_visit(visit.id)
    assert cancelled.status == RequestStatus.FAIL
    slots = {s["id"]: s for s in sandbox.admin().records("time-slots")}
    assert slots[slot["id"]]["is_booked"] is False


def test_book_time_slot(
    client: BrusnikaClient, sandbox: RunningSandbox, fresh_phone: Callable[[], str]
) -> None:
    agent = active_agent(sandbox, bookings_left=2)
    visitor = new_client(client, agent["id"], fresh_phone())
    slot = free_slot(sandbox)
    booked = client.book_time_slot(
        slot["id"], TimeSlotBookRequest(agent_id=agent["id"], client_id=visitor.id)
    )
    assert isinstance(booked, TimeSlot)
    assert booked.id == slot["id"]
    assert booked.is_booked is True


@pytest.mark.parametrize("method", ["search_agencies", "search_clients"])
def test_search_without_match_is_empty(client: BrusnikaClient, method: str) -> None:
    kwargs = {"search_agencies": {"inn": "0000000000"}, "search_clients": {"phone_number": "+70000000000"}}
    assert getattr(client, method)(**kwargs[method]) == []
