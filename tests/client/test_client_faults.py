"""Retries against injected faults (5xx, 429, dropped and lost answers, timeouts), creates that stay
single across retries, and the token kept out of messages, reprs and logs."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from kontur.client import BrusnikaClient
from kontur.errors import AuthError, BrusnikaError, NotFoundError, RateLimitedError, UnavailableError
from kontur.models import ClientCreate
from kontur.retry import NO_RETRY, RetryPolicy
from kontur.sandbox.server import RunningSandbox
from tests.support.brusnika_requests import BAD_TOKEN, agency_request
from tests.support.sandbox_records import active_agent

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
    who = active_agent(private_sandbox, bookings_left=2)
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
    keys = [headers["idempotency-key"] for method, _, headers in counting.requests if method == "POST"]
    assert len(keys) == len(counting.requests) > len(made)
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
            ClientCreate(
                fullname="Потерянный Ответ",
                phone_number=phone,
                agent_id=active_agent(sandbox, bookings_left=2)["id"],
            )
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
