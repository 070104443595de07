"""Waiting for a condition instead of sleeping: the one poll-until-deadline loop of the test suite.

Deadlines are generous on purpose (two shared cores, other suites running): they bound how long a
broken condition is waited for, they never measure speed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class NeverHappened(AssertionError):
    """The condition stayed false until the deadline; the message says what was awaited and what was
    last seen."""


def eventually(
    probe: Callable[[], T],
    *,
    timeout: float = 60.0,
    interval: float = 0.1,
    what: str = "condition",
    describe: Callable[[], object] | None = None,
) -> T:
    """Call `probe` until it returns something truthy (returned) or `timeout` seconds pass (then
    `NeverHappened`, naming `what` and, when given, `describe()` of the last state). An exception the
    probe raises ends the wait at once: a broken probe is a failure, not a reason to keep polling."""
    deadline = time.monotonic() + timeout
    pause = interval
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            seen = f"; last seen: {describe()!r}" if describe is not None else f"; last value: {value!r}"
            raise NeverHappened(f"{what} did not happen within {timeout:.0f} s{seen}")
        time.sleep(pause)
        pause = min(pause * 1.5, 1.0)
