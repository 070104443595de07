"""The one place retries live: an httpx transport that re-sends a request when that is safe and useful.

Retried: 429 (waiting at least its `Retry-After`), 500/502/503/504, and connection/timeout errors.
Never retried: 401 and every other 4xx (the caller must fix something), and a POST without an
`Idempotency-Key` (re-sending could create twice; `BrusnikaClient` always sends a key). Waits are capped
exponential backoff with jitter so that many clients recovering together do not hammer Brusnika in step.

A policy may also carry a time `budget`: the whole request, every attempt and every wait included,
ends within it (each attempt's timeouts are cut to what is left, and no wait starts that would end
past it). Forms use a short budget because a person is waiting (`BrusnikaClient.interactive`);
background syncs keep the patient default, which has none.

Sleep, clocks and randomness are injectable so unit tests can check timing without waiting.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

logger = logging.getLogger("kontur.retry")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_LEAST_ATTEMPT = 0.1  # seconds: an attempt given less than this within a budget is not worth making
# Methods whose repetition cannot do anything twice (PUT /users/{id} is an upsert).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
IDEMPOTENCY_HEADER = "Idempotency-Key"
# Set on the returned response so callers and tests can see how many sends it took.
ATTEMPTS_EXTENSION = "kontur_attempts"


@dataclass(frozen=True)
class RetryPolicy:
    """How patient to be. `max_attempts` counts the first try (1 = never retry)."""

    max_attempts: int = 5
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    # A Retry-After beyond this is not waited out; the 429 goes back to the caller instead.
    max_retry_after: float = 120.0
    # Seconds the whole request may take, attempts and waits included; None: no limit but the above.
    budget: float | None = None

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.backoff_base < 0 or self.backoff_cap < 0 or self.max_retry_after < 0:
            raise ValueError("backoff and Retry-After limits must not be negative")
        if self.budget is not None and self.budget <= 0:
            raise ValueError("budget must be positive")

    def within(self, budget: float) -> RetryPolicy:
        """This policy for a caller who waits at most `budget` seconds: waits scaled to fit several
        attempts into it, a Retry-After longer than it answered at once, the deadline enforced."""
        return replace(
            self,
            max_attempts=max(self.max_attempts, 2),
            backoff_base=min(self.backoff_base, budget / 8),
            backoff_cap=min(self.backoff_cap, budget / 3),
            max_retry_after=min(self.max_retry_after, budget),
            budget=budget,
        )

    def backoff(self, retry_number: int, rng: random.Random) -> float:
        """Wait before retry number `retry_number` (1-based): "equal jitter" — half the capped
        exponential step is guaranteed, the other half random, so waits still grow but never align."""
        step = min(self.backoff_cap, self.backoff_base * (2 ** (retry_number - 1)))
        return step / 2 + rng.uniform(0, step / 2)


NO_RETRY = RetryPolicy(max_attempts=1)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date. None if absent or
    unreadable; never negative."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def may_retry_request(request: httpx.Request) -> bool:
    """Whether re-sending `request` after it may have reached the server is safe."""
    return request.method in IDEMPOTENT_METHODS or IDEMPOTENCY_HEADER in request.headers


class RetryTransport(httpx.BaseTransport):
    """Wraps another transport and retries what is safe to retry (see module docstring)."""

    def __init__(
        self,
        transport: httpx.BaseTransport | None = None,
        policy: RetryPolicy | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport = transport if transport is not None else httpx.HTTPTransport()
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._now = now
        self._rng = rng or random.Random()
        self._monotonic = monotonic

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        policy = self.policy
        safe = may_retry_request(request)
        deadline = None if policy.budget is None else self._monotonic() + policy.budget
        timeouts = dict(request.extensions.get("timeout") or {})
        attempt = 1
        while True:
            if deadline is not None:
                request.extensions["timeout"] = _cut(timeouts, deadline - self._monotonic())
            try:
                response = self._transport.handle_request(request)
            except httpx.TransportError as exc:
                delay = policy.backoff(attempt, self._rng)
                if not safe or attempt >= policy.max_attempts or self._past(deadline, delay):
                    raise
                self._log(request, attempt, delay, type(exc).__name__)
            else:
                delay = self._retry_delay(request, response, attempt, safe)
                if delay is None or self._past(deadline, delay):
                    response.extensions[ATTEMPTS_EXTENSION] = attempt
                    return response
                # Drain and release the connection before waiting; the body is not needed.
                response.read()
                response.close()
                self._log(request, attempt, delay, str(response.status_code))
            self._sleep(delay)
            attempt += 1

    def _past(self, deadline: float | None, delay: float) -> bool:
        """Whether waiting `delay` and trying again would end past the budget's deadline. The next
        attempt needs time too: a wait that leaves less than a tenth of a second is not started."""
        return deadline is not None and self._monotonic() + delay + _LEAST_ATTEMPT >= deadline

    def _retry_delay(
        self, request: httpx.Request, response: httpx.Response, attempt: int, safe: bool
    ) -> float | None:
        """Seconds to wait before re-sending, or None when `response` is the answer to return."""
        if not safe or response.status_code not in RETRY_STATUSES or attempt >= self.policy.max_attempts:
            return None
        if response.status_code == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self._now())
            if retry_after is not None and retry_after > self.policy.max_retry_after:
                return None
            return max(retry_after or 0.0, self.policy.backoff(attempt, self._rng))
        return self.policy.backoff(attempt, self._rng)

    def _log(self, request: httpx.Request, attempt: int, delay: float, reason: str) -> None:
        # Method and path only: headers carry the token, the query may carry personal data.
        logger.warning(
            "retrying %s %s after %s (attempt %d of %d) in %.2fs",
            request.method,
            request.url.path,
            reason,
            attempt,
            self.policy.max_attempts,
            delay,
        )

    def close(self) -> None:
        self._transport.close()


def _cut(timeouts: dict[str, float | None], left: float) -> dict[str, float | None]:
    """httpx's per-request timeouts (connect, read, write, pool) cut to the time left in a budget."""
    left = max(left, _LEAST_ATTEMPT)
    keys = ("connect", "read", "write", "pool")
    return {key: left if timeouts.get(key) is None else min(float(timeouts[key]), left) for key in keys}
