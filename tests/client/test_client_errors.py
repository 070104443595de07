"""Every error of the contract mapped to its exception over real HTTP, retries against injected faults,
idempotent creates, and the token kept out of messages, reprs and logs."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from kontur.client import BrusnikaClient
from kontur.errors import (
    AuthError,
    BadRequestError,
    BrusnikaError,
    ConflictError,
    IdempotencyKeyReusedError,
    NotFoundError,
    RateLimitedError,
    RequestValidationError,
    UnavailableError,
)
from kontur.models import (
    AgencyCreate,
    BookingCreate,
    ClientCreate,
    PurchaseOption,
    TimeSlotBookRequest,
    User,
    VisitCreate,
)
from kontur.retry import NO_RETRY, RetryPolicy
from kontur.sandbox.server import RunningSandbox

BAD_TOKEN = "definitely-not-the-token-5d41402a"


# ----------------------------------------------------------------------------- helpers


def users(running: RunningSandbox) -> list[dict[str, Any]]:
    return [u for u in running.admin().users() if u["role"] == "AGENT" and u["status"] == "active"]


def agent(running: RunningSandbox) -> dict[str, Any]:
    return next(u for u in users(running) if u["remaining_user_creation_limit"] > 1)


def free_premises(running: RunningSandbox) -> Iterator[dict[str, Any]]:
    return (
        p
        for p in running.admin().records("premises")
        if not p["is_booked"] and not p["is_sold"] and p["purchase_option"]
    )


def free_slots(running: RunningSandbox) -> Iterator[dict[str, Any]]:
    return (s for s in running.admin().records("time-slots") if not s["is_booked"])


def booking_for(premise: dict[str, Any], client_id: int, agent_id: int) -> BookingCreate:
    return BookingCreate(
        premise_id=premise["id"], client_id=client_id, agent_id=agent_id, date=dt.date.today(),
        time="12:00", purchase_option=PurchaseOption(premise["purchase_option"][0]),
    )  # fmt: skip


def agency_request(city_id: int, inn: str, title: str = "Агентство Конфликт") -> AgencyCreate:
    return AgencyCreate(
        title=title, city_id=city_id, legal_name="ООО «Конфликт»", inn=inn, phone="+73432000001",
        email="c@agency.example", owner_full_name="Сидоров Сидор", owner_phone="+79991110000",
    )  # fmt: skip


@pytest.fixture
def buyer_id(
    client: BrusnikaClient, sandbox: RunningSandbox, fresh_phone: Callable[[], str]
) -> tuple[int, int]:
    """(client_id, agent_id) of a fresh client of an agent who may still book."""
    who = agent(sandbox)
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
    premise = next(free_premises(sandbox))
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
        exhausted = User.model_validate(agent(private_sandbox)).model_copy(
            update={"remaining_user_creation_limit": 0}
        )
        client.put_user(exhausted)
        buyer = client.create_client(
            ClientCreate(fullname="Лимитов Лев", phone_number=fresh_phone(), agent_id=exhausted.id)
        )
        premise = next(free_premises(private_sandbox))
        with pytest.raises(ConflictError) as excinfo:
            client.create_booking(booking_for(premise, buyer.id, exhausted.id))
    assert excinfo.value.code == "booking_limit_reached"


def test_slot_taken_and_visit_not_open(
    client: BrusnikaClient, sandbox: RunningSandbox, buyer_id: tuple[int, int]
) -> None:
    client_id, agent_id = buyer_id
    slot = next(free_slots(sandbox))
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
    who = agent(sandbox)
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
    who = agent(sandbox)
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


# ----------------------------------------------------------------------------- faults: 5xx, 429, drops


@pytest.fixture
def faults(private_sandbox: RunningSandbox) -> Iterator[Callable[..., None]]:
    admin = private_sandbox.admin()
    yield admin.set_faults
    admin.clear_faults()


def test_create_retried_after_503_creates_exactly_one(
    private_sandbox: RunningSandbox,
    faults: Callable[..., None],
    counting,
    client_factory: Callable[..., BrusnikaClient],
    fresh_phone: Callable[[], str],
) -> None:
    who = agent(private_sandbox)
    made: dict[str, int] = {}
    faults(server_error=0.5)
    retry = RetryPolicy(max_attempts=25, backoff_base=0.01, backoff_cap=0.05)
    with client_factory(private_sandbox, transport=counting, retry=retry) as client:
        # Keep creating until some create met an injected 5xx (the share is random per request).
        while len(made) < 4 or (counting.failures() == 0 and len(made) < 40):
            phone = fresh_phone()
            request = ClientCreate(fullname="Ретраев Роман", phone_number=phone, agent_id=who["id"])
            made[phone] = client.create_client(request).id
    private_sandbox.admin().clear_faults()  # back to none before reading the truth
    assert counting.failures() > 0, "no 5xx was injected: the retry path went untested"
    with client_factory(private_sandbox) as client:
        for phone, client_id in made.items():
            found = client.search_clients(phone_number=phone)
            assert [c.id for c in found] == [client_id], f"{phone} created {len(found)} times"
    # Every send of one logical create carried that create's key: one key per create.
    keys = [headers["idempotency-key"] for method, _, headers in counting.sent if method == "POST"]
    assert len(keys) == len(counting.sent) > len(made)
    assert len(set(keys)) == len(made)


class LoseFirstAnswer(httpx.BaseTransport):
    """Real HTTP whose first POST answer is lost on the way back: the server did the work, the client
    sees a dropped connection. The case an Idempotency-Key exists for."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self.posts = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if request.method == "POST":
            self.posts += 1
            if self.posts == 1:
                response.read()
                response.close()
                raise httpx.ReadError("connection lost before the answer arrived", request=request)
        return response

    def close(self) -> None:
        self._inner.close()


def test_create_whose_answer_was_lost_is_not_created_twice(
    sandbox: RunningSandbox,
    client_factory: Callable[..., BrusnikaClient],
    fresh_phone: Callable[[], str],
    fresh_inn: Callable[[], str],
) -> None:
    lossy = LoseFirstAnswer()
    phone = fresh_phone()
    with client_factory(sandbox, transport=lossy) as client:
        created = client.create_client(
            ClientCreate(fullname="Потерянный Ответ", phone_number=phone, agent_id=agent(sandbox)["id"])
        )
        assert lossy.posts == 2, "the lost answer was not retried"
        assert [c.id for c in client.search_clients(phone_number=phone)] == [created.id]
    # An agency is unique by INN: without the key the retry would have answered 409 agency_exists.
    lossy = LoseFirstAnswer()
    city_id = sandbox.admin().records("cities")[0]["id"]
    with client_factory(sandbox, transport=lossy) as client:
        agency = client.create_agency(agency_request(city_id, fresh_inn()))
        assert lossy.posts == 2
        assert [a.id for a in client.search_agencies(inn=agency.inn)] == [agency.id]


def test_5xx_exhausting_retries_is_unavailable(
    private_sandbox: RunningSandbox,
    faults: Callable[..., None],
    counting,
    client_factory: Callable[..., BrusnikaClient],
) -> None:
    faults(server_error=1.0)
    retry = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_cap=0.02)
    client = client_factory(private_sandbox, transport=counting, retry=retry)
    with client, pytest.raises(UnavailableError) as excinfo:
        list(client.cities())
    assert counting.count() == 3
    assert excinfo.value.status in (500, 503)


def test_429_waits_at_least_retry_after(
    private_sandbox: RunningSandbox,
    faults: Callable[..., None],
    counting,
    client_factory: Callable[..., BrusnikaClient],
) -> None:
    faults(rate_limit=0.5, retry_after=1)
    retry = RetryPolicy(max_attempts=30, backoff_base=0.01, backoff_cap=0.02, max_retry_after=5)
    waited = 0.0
    calls = 0
    with client_factory(private_sandbox, transport=counting, retry=retry) as client:
        # Each call succeeds in the end; go on until at least one call met a 429.
        while counting.failures() == 0 and calls < 30:
            started = time.monotonic()
            assert list(client.cities())
            waited += time.monotonic() - started
            calls += 1
    limited = sum(1 for o in counting.outcomes if o == 429)
    assert limited >= 1, "no 429 was injected"
    # Each 429 was waited out for at least its Retry-After (1 s); a lower bound only.
    assert waited >= limited * 1.0


def test_429_not_retried_surfaces_retry_after(
    private_sandbox: RunningSandbox,
    faults: Callable[..., None],
    client_factory: Callable[..., BrusnikaClient],
) -> None:
    faults(rate_limit=1.0, retry_after=2)
    client = client_factory(private_sandbox, retry=NO_RETRY)
    with client, pytest.raises(RateLimitedError) as excinfo:
        list(client.cities())
    assert excinfo.value.status == 429
    assert excinfo.value.code == "rate_limited"
    assert excinfo.value.retry_after == 2


def test_429_longer_than_patience_is_returned_at_once(
    private_sandbox: RunningSandbox,
    faults: Callable[..., None],
    counting,
    client_factory: Callable[..., BrusnikaClient],
) -> None:
    faults(rate_limit=1.0, retry_after=600)
    client = client_factory(private_sandbox, transport=counting)
    with client, pytest.raises(RateLimitedError) as excinfo:
        list(client.cities())
    assert excinfo.value.retry_after == 600
    assert counting.count() == 1


def test_dropped_connections_are_retried(
    private_sandbox: RunningSandbox,
    faults: Callable[..., None],
    counting,
    client_factory: Callable[..., BrusnikaClient],
) -> None:
    truth = {r["id"] for r in private_sandbox.admin().records("sections")}
    faults(drop=0.3)
    retry = RetryPolicy(max_attempts=25, backoff_base=0.01, backoff_cap=0.05)
    with client_factory(private_sandbox, transport=counting, retry=retry) as client:
        rounds = 0
        while rounds == 0 or (counting.failures() == 0 and rounds < 20):
            ids = [s.id for s in client.sections(limit=max(1, len(truth) // 4))]
            assert sorted(ids) == sorted(truth)
            rounds += 1
    assert any(isinstance(o, str) for o in counting.outcomes), "no connection was dropped"


def test_read_timeout_is_retried_then_unavailable(
    private_sandbox: RunningSandbox, faults: Callable[..., None], counting
) -> None:
    faults(latency_ms=1500)
    client = BrusnikaClient(
        base_url=private_sandbox.api_url,
        token=private_sandbox.token,
        transport=counting,
        timeout=httpx.Timeout(0.2, connect=2.0),
        retry=RetryPolicy(max_attempts=2, backoff_base=0.01, backoff_cap=0.02),
    )
    with client, pytest.raises(UnavailableError, match="timed out") as excinfo:
        list(client.cities())
    assert counting.outcomes == ["ReadTimeout", "ReadTimeout"]
    assert excinfo.value.code == "unavailable"


def test_nothing_listening_is_unavailable() -> None:
    # A port nobody listens on: connection refused on every attempt.
    client = BrusnikaClient(
        base_url="http://127.0.0.1:9/api/v1",
        token="unused-token-0123456789",
        retry=RetryPolicy(max_attempts=2, backoff_base=0.01),
    )
    with client, pytest.raises(UnavailableError, match="connection failed") as excinfo:
        list(client.cities())
    assert excinfo.value.status is None


# ----------------------------------------------------------------------------- secrets


def test_token_never_in_errors_reprs_or_logs(
    sandbox: RunningSandbox,
    private_sandbox: RunningSandbox,
    faults: Callable[..., None],
    client_factory: Callable[..., BrusnikaClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caught: list[BrusnikaError] = []
    texts: list[str] = []
    with caplog.at_level(logging.DEBUG):
        with client_factory(sandbox, token=BAD_TOKEN) as bad:
            texts.append(repr(bad))
            with pytest.raises(AuthError) as auth:
                list(bad.cities())
            caught.append(auth.value)
        with client_factory(sandbox) as good:
            texts.append(repr(good))
            with pytest.raises(NotFoundError) as missing:
                good.cancel_booking(987654321)
            caught.append(missing.value)
        faults(server_error=1.0)
        with client_factory(private_sandbox, retry=RetryPolicy(max_attempts=2, backoff_base=0.01)) as c:
            texts.append(repr(c))
            with pytest.raises(UnavailableError) as down:
                list(c.cities())
            caught.append(down.value)
    assert any(r.name == "kontur.retry" for r in caplog.records), "the retry was not logged"
    texts += [str(e) for e in caught] + [repr(e) for e in caught] + [caplog.text]
    texts += [str(r.args) for r in caplog.records]
    for secret in (BAD_TOKEN, sandbox.token, private_sandbox.token):
        for text in texts:
            assert secret not in text
    assert "Bearer" not in caplog.text
