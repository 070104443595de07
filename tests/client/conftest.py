"""Fixtures of the client tests: clients bound to the shared sandbox, a private sandbox for tests that
switch faults or drift data (so nothing leaks into other folders' tests), and a counting transport.

The counting transport sits *under* the retry transport and forwards to the real httpx transport, so
it counts the HTTP requests that actually reached the server.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import httpx
import pytest

from kontur.client import BrusnikaClient
from kontur.retry import RetryPolicy
from kontur.sandbox.server import RunningSandbox, start_sandbox

# Fast retries: the tests check what is retried and how often, not production patience.
FAST_RETRY = RetryPolicy(max_attempts=4, backoff_base=0.05, backoff_cap=0.2, max_retry_after=10)


class CountingTransport(httpx.BaseTransport):
    """Real HTTP, counting each request that goes out (per method and path)."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self.sent: list[tuple[str, str, dict[str, str]]] = []
        # One per request: the status answered, or the exception's class name when none came.
        self.outcomes: list[int | str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.url.path, dict(request.headers)))
        try:
            response = self._inner.handle_request(request)
        except httpx.TransportError as exc:
            self.outcomes.append(type(exc).__name__)
            raise
        self.outcomes.append(response.status_code)
        return response

    def failures(self) -> int:
        """Requests answered with 429/5xx or not answered at all."""
        return sum(1 for o in self.outcomes if isinstance(o, str) or o == 429 or o >= 500)

    def count(self, method: str | None = None, path_suffix: str = "") -> int:
        return sum(1 for m, p, _ in self.sent if (method is None or m == method) and p.endswith(path_suffix))

    def close(self) -> None:
        self._inner.close()


def make_client(
    running: RunningSandbox,
    *,
    token: str | None = None,
    transport: httpx.BaseTransport | None = None,
    retry: RetryPolicy = FAST_RETRY,
) -> BrusnikaClient:
    return BrusnikaClient(
        base_url=running.api_url,
        token=token if token is not None else running.token,
        transport=transport,
        retry=retry,
    )


@pytest.fixture
def client(sandbox: RunningSandbox) -> Iterator[BrusnikaClient]:
    with make_client(sandbox) as c:
        yield c


@pytest.fixture
def counting() -> CountingTransport:
    return CountingTransport()


@pytest.fixture(scope="module")
def private_sandbox() -> Iterator[RunningSandbox]:
    """A sandbox of this module's own: faults and drift here must not leak into the shared one."""
    with start_sandbox(scale=0.01, seed=4242) as running:
        yield running


@pytest.fixture
def client_factory() -> Callable[..., BrusnikaClient]:
    """`make_client` for tests needing another token, transport or retry policy (test modules cannot
    import from conftest under --import-mode=importlib)."""
    return make_client


@pytest.fixture
def fresh_inn() -> Callable[[], str]:
    rng = random.Random()
    return lambda: valid_inn(rng)


@pytest.fixture
def fresh_phone() -> Callable[[], str]:
    rng = random.Random()
    return lambda: random_phone(rng)


def valid_inn(rng: random.Random) -> str:
    """A random 10-digit company INN with a correct check digit (unique enough per run that tests on
    the shared sandbox do not collide on `agency_exists`)."""
    digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(8)]
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    check = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11 % 10
    return "".join(map(str, digits)) + str(check)


def random_phone(rng: random.Random) -> str:
    return "+79" + "".join(str(rng.randint(0, 9)) for _ in range(9))
