"""Retry timing and eligibility, unit-tested over httpx.MockTransport with an injected sleep (no waiting).

Behaviour against the real sandbox is in test_client_errors.py; here we pin the exact rules: what is
retried, how many times, and how long each wait is at least.
"""

from __future__ import annotations

import itertools
import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from kontur.retry import ATTEMPTS_EXTENSION, RetryPolicy, RetryTransport, parse_retry_after

TOKEN = "retry-test-token-77"


class Script:
    """A MockTransport handler answering from a list, counting and recording what it was sent."""

    def __init__(self, *answers: int | tuple[int, dict[str, str]] | type[Exception]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, type) and issubclass(answer, Exception):
            raise answer("scripted failure", request=request)
        status, headers = answer if isinstance(answer, tuple) else (answer, {})
        return httpx.Response(status, headers=headers, json={"ok": status < 400})


def make_client(
    script: Script, policy: RetryPolicy, sleeps: list[float], now: Callable[[], datetime] | None = None
) -> httpx.Client:
    transport = RetryTransport(
        httpx.MockTransport(script),
        policy,
        sleep=sleeps.append,
        rng=random.Random(1),
        **({"now": now} if now else {}),
    )
    return httpx.Client(
        base_url="http://brusnika.test/api/v1/",
        transport=transport,
        headers={"Authorization": f"Bearer {TOKEN}"},
    )


POLICY = RetryPolicy(max_attempts=4, backoff_base=0.5, backoff_cap=2.0, max_retry_after=60)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_retried_until_success(status: int) -> None:
    script, sleeps = Script(status, status, 200), []
    response = make_client(script, POLICY, sleeps).get("cities")
    assert response.status_code == 200
    assert len(script.requests) == 3
    assert response.extensions[ATTEMPTS_EXTENSION] == 3
    assert len(sleeps) == 2


def test_gives_up_after_max_attempts_and_returns_last_answer() -> None:
    script, sleeps = Script(503), []
    response = make_client(script, POLICY, sleeps).get("cities")
    assert response.status_code == 503
    assert len(script.requests) == POLICY.max_attempts
    assert len(sleeps) == POLICY.max_attempts - 1


def test_backoff_grows_is_capped_and_jittered() -> None:
    policy = RetryPolicy(max_attempts=7, backoff_base=0.5, backoff_cap=2.0)
    script, sleeps = Script(500), []
    make_client(script, policy, sleeps).get("cities")
    steps = [min(2.0, 0.5 * 2**n) for n in range(6)]  # 0.5, 1, 2, 2, 2, 2
    for sleep, step in zip(sleeps, steps, strict=True):
        assert step / 2 <= sleep <= step
    # Jitter: the capped waits are not all identical.
    assert len({round(s, 6) for s in sleeps[2:]}) > 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_client_errors_never_retried(status: int) -> None:
    script, sleeps = Script(status, 200), []
    response = make_client(script, POLICY, sleeps).get("cities")
    assert response.status_code == status
    assert len(script.requests) == 1
    assert sleeps == []


def test_429_waits_at_least_retry_after_seconds() -> None:
    script, sleeps = Script((429, {"Retry-After": "7"}), 200), []
    response = make_client(script, POLICY, sleeps).get("cities")
    assert response.status_code == 200
    assert len(sleeps) == 1
    assert sleeps[0] >= 7


def test_429_with_http_date_retry_after() -> None:
    now = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=12), usegmt=True)
    script, sleeps = Script((429, {"Retry-After": header}), 200), []
    make_client(script, POLICY, sleeps, now=lambda: now).get("cities")
    assert len(sleeps) == 1
    assert sleeps[0] >= 12


def test_429_with_too_long_retry_after_goes_back_to_caller() -> None:
    script, sleeps = Script((429, {"Retry-After": "3600"}), 200), []
    response = make_client(script, POLICY, sleeps).get("cities")
    assert response.status_code == 429
    assert len(script.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ReadTimeout, httpx.RemoteProtocolError])
def test_transport_errors_retried_then_raised(error: type[Exception]) -> None:
    script, sleeps = Script(error, 200), []
    assert make_client(script, POLICY, sleeps).get("cities").status_code == 200
    assert len(script.requests) == 2

    script, sleeps = Script(error), []
    with pytest.raises(error):
        make_client(script, POLICY, sleeps).get("cities")
    assert len(script.requests) == POLICY.max_attempts


def test_post_without_idempotency_key_is_never_retried() -> None:
    for answer in (503, (429, {"Retry-After": "1"}), httpx.ReadTimeout):
        script, sleeps = Script(answer, 201), []
        client = make_client(script, POLICY, sleeps)
        if isinstance(answer, type):
            with pytest.raises(httpx.ReadTimeout):
                client.post("bookings", json={"a": 1})
        else:
            assert client.post("bookings", json={"a": 1}).status_code != 201
        assert len(script.requests) == 1


def test_post_with_key_is_retried_with_the_same_key_and_body() -> None:
    script, sleeps = Script(503, httpx.ReadTimeout, 201), []
    response = make_client(script, POLICY, sleeps).post(
        "bookings", json={"premise_id": 5}, headers={"Idempotency-Key": "k-123"}
    )
    assert response.status_code == 201
    assert len(script.requests) == 3
    assert {r.headers["Idempotency-Key"] for r in script.requests} == {"k-123"}
    assert {r.content for r in script.requests} == {b'{"premise_id":5}'}


def test_retry_logs_name_the_request_but_not_headers_or_query(caplog: pytest.LogCaptureFixture) -> None:
    script, sleeps = Script(503, 200), []
    with caplog.at_level(logging.DEBUG, logger="kontur.retry"):
        make_client(script, POLICY, sleeps).get("clients/search", params={"phone_number": "+79990001122"})
    assert len(caplog.records) == 1
    assert "GET /api/v1/clients/search" in caplog.text
    assert "503" in caplog.text
    assert TOKEN not in caplog.text
    assert "Authorization" not in caplog.text
    assert "79990001122" not in caplog.text


def test_parse_retry_after() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("3", now) == 3.0
    assert parse_retry_after("1.5", now) == 1.5
    assert parse_retry_after("-4", now) == 0.0
    assert parse_retry_after(None, now) is None
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now) == 30.0
    assert parse_retry_after("Wed, 31 Dec 2025 23:00:00 GMT", now) == 0.0


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(backoff_base=-1)


class Clock:
    """A monotonic clock the injected sleep advances: time passes only by waiting (and, when told,
    by each answer taking `per_request` seconds)."""

    def __init__(self, per_request: float = 0.0) -> None:
        self.now = 1000.0
        self.per_request = per_request
        self.sleeps: list[float] = []
        self.read_timeouts: list[float] = []  # each attempt's, as it was sent

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def budget_client(script: Script, policy: RetryPolicy, clock: Clock) -> httpx.Client:
    def answer(request: httpx.Request) -> httpx.Response:
        clock.read_timeouts.append(request.extensions["timeout"]["read"])
        clock.now += clock.per_request
        return script(request)

    transport = RetryTransport(
        httpx.MockTransport(answer),
        policy,
        sleep=clock.sleep,
        rng=random.Random(3),
        monotonic=clock.monotonic,
    )
    return httpx.Client(base_url="http://brusnika.test/api/v1/", transport=transport, timeout=30.0)


def test_budget_ends_the_retries_before_the_attempts_do() -> None:
    # 503 forever: the patient policy would try 20 times; the budget ends it within 3 seconds.
    policy = RetryPolicy(max_attempts=20, backoff_base=0.5, backoff_cap=2.0, budget=3.0)
    script, clock = Script(503), Clock(per_request=0.05)
    start = clock.now
    response = budget_client(script, policy, clock).post(
        "bookings", json={"a": 1}, headers={"Idempotency-Key": "k-1"}
    )
    assert response.status_code == 503
    # Waits of 0.25-0.5, 0.5-1 and 1-2 s: at least three attempts fit, and the last wait started only
    # if its attempt still fitted.
    assert 3 <= len(script.requests) < 20
    assert response.extensions[ATTEMPTS_EXTENSION] == len(script.requests)
    assert clock.now - start <= 3.0  # every wait and answer within the budget


def test_budget_cuts_each_attempts_timeouts_to_what_is_left() -> None:
    policy = RetryPolicy(max_attempts=10, backoff_base=0.4, backoff_cap=0.4, budget=2.0)
    script, clock = Script(503), Clock()
    budget_client(script, policy, clock).get("cities")
    reads = clock.read_timeouts
    assert len(reads) == len(script.requests) >= 3
    assert reads[0] == pytest.approx(2.0)  # the client's 30 s cut to the budget
    assert all(later < earlier for earlier, later in itertools.pairwise(reads))
    assert all(read <= 2.0 for read in reads)


def test_transport_error_within_budget_is_raised_when_it_ends() -> None:
    policy = RetryPolicy(max_attempts=50, backoff_base=0.2, backoff_cap=0.5, budget=1.5)
    script, clock = Script(httpx.ConnectError), Clock(per_request=0.1)
    with pytest.raises(httpx.ConnectError):
        budget_client(script, policy, clock).get("cities")
    assert 2 <= len(script.requests) < 50


def test_within_scales_a_policy_to_a_budget() -> None:
    patient = RetryPolicy(max_attempts=5, backoff_base=0.5, backoff_cap=30.0, max_retry_after=120.0)
    quick = patient.within(10.0)
    assert quick.budget == 10.0
    assert quick.backoff_cap <= 10.0 / 3
    assert quick.max_retry_after == 10.0  # a Retry-After the person could not wait out: answered at once
    assert patient.budget is None  # background syncs keep theirs
    with pytest.raises(ValueError, match="budget"):
        RetryPolicy(budget=0)
