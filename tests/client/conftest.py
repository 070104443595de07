"""Fixtures of the client tests: clients bound to the shared sandbox, a private sandbox for tests that
switch faults or drift data (so nothing leaks into other folders' tests), and a counting transport
(tests/support/transport.py) that sits *under* the retry transport, so it counts the HTTP requests
that actually reached the server.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import httpx
import pytest

from kontur.client import BrusnikaClient
from kontur.retry import RetryPolicy
from kontur.sandbox.server import RunningSandbox
from tests.support.sandboxes import SandboxFactory
from tests.support.transport import CountingTransport

# Fast retries: the tests check what is retried and how often, not production patience.
FAST_RETRY = RetryPolicy(max_attempts=4, backoff_base=0.05, backoff_cap=0.2, max_retry_after=10)


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
def private_sandbox(module_sandboxes: SandboxFactory) -> RunningSandbox:
    """A sandbox of this module's own: faults and drift here must not leak into the shared one."""
    return module_sandboxes(scale=0.01, seed=4242)


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
