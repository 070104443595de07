"""Every error of the contract mapped to its exception over real HTTP (400, 401, 404, each 409 code,
422), and idempotent creates answered the same twice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from kontur.client import BrusnikaClient
from kontur.errors import (
    AuthError,
    BadRequestError,
    ConflictError,
    IdempotencyKeyReusedError,
    NotFoundError,
    RequestValidationError,
)
from kontur.models import ClientCreate, TimeSlotBookRequest, User, VisitCreate
from kontur.sandbox.server import RunningSandbox
from tests.support.brusnika_requests import BAD_TOKEN, agency_request, booking_for
from tests.support.sandbox_records import active_agent, free_premise, free_slot


@pytest.fixture
def buyer_id(
    client: BrusnikaClient, sandbox: RunningSandbox, fresh_phone: Callable[[], str]
) -> tuple[int, int]:
    """(client_id, agent_id) of a fresh client of an agent who may still book."""
    who = active_agent(sandbox, bookings_left=2)
    created = client.create_client(
        ClientCreate(fullname="Ошибкин Иван", phone_number=fresh_phone(), agent_id=who["id"])
    )
    return created.id, who["id"]


# ----------------------------------------------------------------------------- 400, 401, 404


@pytest.mark.parametrize("limit", [0, 1001])
def test_limit_out_of_range_is_bad_request(client: BrusnikaClient, limit: int) -> None:
    with pytest.raises(BadRequestError) as excinfo:
        list(client.cities(limit=limit))
    assert excinfo.value.status == 400
    assert excinfo.value.code == "bad_request"


def test_bad_token_is_auth_error_without_retry(
    sandbox: RunningSandbox, counting, client_factory: Callable[..., BrusnikaClient]
) -> None:
    with client_factory(sandbox, token=BAD_TOKEN, transport=counting) as client:
        with pytest.raises(AuthError) as excinfo:
            list(client.cities())
        assert counting.count() == 1, "401 must not be retried"
        with pytest.raises(AuthError):
            client.create_client(ClientCreate(fullname="X Y", phone_number="+79990000000", agent_id=1))
        assert counting.count() == 2
    assert excinfo.value.status == 401
    assert excinfo.value.code == "unauthorized"


def test_unknown_ids_are_not_found(client: BrusnikaClient, buyer_id: tuple[int, int]) -> None:
    with pytest.raises(NotFoundError) as excinfo:
        client.cancel_booking(987654321)
    assert excinfo.value.status == 404
    assert excinfo.value.code == "not_found"
    with pytest.raises(NotFoundError):
        client.cancel_visit(987654321)
    with pytest.raises(NotFoundError):
        client.book_time_slot(987654321, TimeSlotBookRequest(agent_id=buyer_id[1], client_id=buyer_id[0]))


# ----------------------------------------------------------------------------- 409, each code


def test_agency_exists_carries_existing_id(
    client: BrusnikaClient, sandbox: RunningSandbox, fresh_inn: Callable[[], str]
) -> None:
    city_id = sandbox.admin().records("cities")[0]["id"]
    inn = fresh_inn()
    first = client.create_agency(agency_request(city_id, inn))
    with pytest.raises(ConflictError) as excinfo:
        client.create_agency(agency_request(city_id, inn, title="Другое название"))
    assert excinfo.value.status == 409
    assert excinfo.value.code == "agency_exists"
    assert excinfo.value.existing_id == first.id


def test_premise_unavailable_and_booking_not_open(
    client: BrusnikaClient, sandbox: RunningSandbox, buyer_id: tuple[int, int]
) -> None:
    client_id, agent_id = buyer_id
    premise = free_premise(sandbox, with_option=True)
    booking = client.create_booking(booking_for(premise, client_id, agent_id))
    try:
        with pytest.raises(ConflictError) as excinfo:
            client.create_booking(booking_for(premise, client_id, agent_id))
        assert excinfo.value.code == "premise_unavailable"
    finally:
        client.cancel_booking(booking.id)
    with pytest.raises(ConflictError) as excinfo:
        client.cancel_booking(booking.id)
    assert excinfo.value.code == "booking_not_open"


def test_sold_premise_is_unavailable(
    client: BrusnikaClient, sandbox: RunningSandbox, buyer_id: tuple[int, int]
) -> None:
    sold = next(p for p in sandbox.admin().records("premises") if p["is_sold"] and p["purchase_option"])
    with pytest.raises(ConflictError) as excinfo:
        client.create_booking(booking_for(sold, *buyer_id))
    assert excinfo.value.code == "premise_unavailable"


def test_booking_limit_reached(
    private_sandbox: RunningSandbox,
    client_factory: Callable[..., BrusnikaClient],
    fresh_phone: Callable[[], str],
) -> None:
    with client_factory(private_sandbox) as client:
        exhausted = User.model_validate(active_agent(private_sandbox, bookings_left=2)).model_copy(
            update={"remaining_user_creation_limit": 0}
        )
        client.put_user(exhausted)
        buyer = client.create_client(
            ClientCreate(fullname="Лимитов Лев", phone_number=fresh_phone(), agent_id=exhausted.id)
        )
        premise = free_premise(private_sandbox, with_option=True)
        with pytest.raises(ConflictError) as excinfo:
            client.create_booking(booking_for(premise, buyer.id, exhausted.id))
    assert excinfo.value.code == "booking_limit_reached"


def test_slot_taken_and_visit_not_open(
    client: BrusnikaClient, sandbox: RunningSandbox, buyer_id: tuple[int, int]
) -> None:
    client_id, agent_id = buyer_id
    slot = free_slot(sandbox)
    visit_request = VisitCreate(
        project_id=slot["project_id"], agent_id=agent_id, client_id=client_id,
        date=dt.date.fromisoformat(slot["date"]), time=slot["time"], time_slot_id=slot["id"],
    )  # fmt: skip
    visit = client.create_visit(visit_request)
    try:
        with pytest.raises(ConflictError) as excinfo:
            client.create_visit(visit_request)
        assert excinfo.value.code == "slot_taken"
        with pytest.raises(ConflictError) as excinfo:
            client.book_time_slot(slot["id"], TimeSlotBookRequest(agent_id=agent_id, client_id=client_id))
        assert excinfo.value.code == "slot_taken"
    finally:
        client.cancel_visit(visit.id)
    with pytest.raises(ConflictError) as excinfo:
        client.cancel_visit(visit.id)
    assert excinfo.value.code == "visit_not_open"


# ----------------------------------------------------------------------------- 422


def test_validation_error_names_the_field(
    client: BrusnikaClient, sandbox: RunningSandbox, fresh_inn: Callable[[], str]
) -> None:
    city_id = sandbox.admin().records("cities")[0]["id"]
    inn = fresh_inn()
    wrong_check_digit = inn[:-1] + str((int(inn[-1]) + 1) % 10)
    with pytest.raises(RequestValidationError) as excinfo:
        client.create_agency(agency_request(city_id, wrong_check_digit))
    error = excinfo.value
    assert error.status == 422
    assert error.code == "validation_error"
    assert "inn" in {f.field.split(".")[-1] for f in error.field_errors}
    assert all(f.message for f in error.field_errors)


def test_same_key_other_body_is_idempotency_key_reused(
    client: BrusnikaClient, sandbox: RunningSandbox, fresh_phone: Callable[[], str]
) -> None:
    who = active_agent(sandbox, bookings_left=2)
    key = "reuse-" + fresh_phone()[1:]
    first = client.create_client(
        ClientCreate(fullname="Ключев Кирилл", phone_number=fresh_phone(), agent_id=who["id"]),
        idempotency_key=key,
    )
    with pytest.raises(IdempotencyKeyReusedError) as excinfo:
        client.create_client(
            ClientCreate(fullname="Другой Человек", phone_number=fresh_phone(), agent_id=who["id"]),
            idempotency_key=key,
        )
    assert excinfo.value.status == 422
    assert excinfo.value.code == "idempotency_key_reused"
    assert first.id > 0


def test_same_key_same_body_returns_the_first_answer(
    client: BrusnikaClient, sandbox: RunningSandbox, fresh_phone: Callable[[], str]
) -> None:
    who = active_agent(sandbox, bookings_left=2)
    phone = fresh_phone()
    request = ClientCreate(fullname="Повторов Павел", phone_number=phone, agent_id=who["id"])
    first = client.create_client(request, idempotency_key="same-key-" + phone[1:])
    again = client.create_client(request, idempotency_key="same-key-" + phone[1:])
    assert again == first
    assert len(client.search_clients(phone_number=phone)) == 1


def test_invalid_idempotency_key_refused_locally(client: BrusnikaClient, buyer_id: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="idempotency_key"):
        client.cancel_booking(1, idempotency_key="x" * 65)
    with pytest.raises(ValueError, match="idempotency_key"):
        client.cancel_booking(1, idempotency_key="пробел и кириллица")
