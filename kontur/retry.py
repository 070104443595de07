"""The one place retries live: an httpx transport that re-sends a request when that is safe and useful.

Retried: 429 (waiting at least its `Retry-After`), 500/502/503/504, and connection/timeout errors.
Never retried: 401 and every other 4xx (the caller must fix something), and a POST without an
`Idempotency-Key` (re-sending could create twice; `BrusnikaClient` always sends a key). Waits are capped
exponential backoff with jitter so that many clients recovering together do not hammer Brusnika in step.

Sleep, clock and randomness are injectable so unit tests can check timing without waiting.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

logger = logging.getLogger("kontur.retry")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
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

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.backoff_base < 0 or self.backoff_cap < 0 or self.max_retry_after < 0:
            raise ValueError("backoff and Retry-After limits must not be negative")

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
    ) -> None:
        self._transport = transport if transport is not None else httpx.HTTPTransport()
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._now = now
        self._rng = rng or random.Random()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        policy = self.policy
        safe = may_retry_request(request)
        attempt = 1
        while True:
            try:
                response = self._transport.handle_request(request)
            except httpx.TransportError as exc:
                if not safe or attempt >= policy.max_attempts:
                    raise
                delay = policy.backoff(attempt, self._rng)
                self._log(request, attempt, delay, type(exc).__name__)
            else:
                delay = self._retry_delay(request, response, attempt, safe)
                if delay is None:
                    response.extensions[ATTEMPTS_EXTENSION] = attempt
                    return response
                # Drain and release the connection before waiting; the body is not needed.
                response.read()
                response.close()
                self._log(request, attempt, delay, str(response.status_code))
            self._sleep(delay)
            attempt += 1

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
