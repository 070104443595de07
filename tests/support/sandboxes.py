"""Sandboxes of a test's own: a pytest plugin (registered in tests/conftest.py) with one factory per
scope. Each factory starts real sandbox servers with the options asked for and stops every one it
started when its scope ends, failed tests included.

    @pytest.fixture(scope="module")
    def private_sandbox(module_sandboxes):
        return module_sandboxes(seed=4242, scale=0.01)

    def test_two_runs_agree(sandboxes):
        first, second = sandboxes(seed=5), sandboxes(seed=5)

The session's shared sandbox (`sandbox` in tests/conftest.py) comes from `session_sandboxes`.
Tests that must stop a sandbox mid-test (to see it restart) keep using `start_sandbox` directly.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from kontur.cache import Cache
from kontur.config import Settings
from kontur.sandbox.server import RunningSandbox, start_sandbox
from kontur.sync import run_sync


class SandboxFactory:
    """Call to start a sandbox; `stop_all()` stops what was started, newest first."""

    def __init__(self) -> None:
        self._started: list[RunningSandbox] = []

    def __call__(
        self,
        *,
        seed: int,
        scale: float = 0.01,
        hostile: bool = False,
        edge_cases: bool = False,
        today: str | None = None,
        kafka: str | None = None,
        extra_args: Sequence[str] = (),
    ) -> RunningSandbox:
        args = [
            *(["--hostile"] if hostile else []),
            *(["--edge-cases"] if edge_cases else []),
            *(["--today", today] if today else []),
            *(["--kafka", kafka] if kafka else []),
            *extra_args,
        ]
        running = start_sandbox(scale=scale, seed=seed, extra_args=args)
        self._started.append(running)
        return running

    def stop_all(self) -> None:
        while self._started:
            self._started.pop().stop()


def _factory() -> Iterator[SandboxFactory]:
    factory = SandboxFactory()
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture
def sandboxes() -> Iterator[SandboxFactory]:
    """Sandboxes stopped when the test ends."""
    yield from _factory()


@pytest.fixture(scope="module")
def module_sandboxes() -> Iterator[SandboxFactory]:
    """Sandboxes stopped when the module's tests end (a folder's private sandbox)."""
    yield from _factory()


@pytest.fixture(scope="session")
def session_sandboxes() -> Iterator[SandboxFactory]:
    """Sandboxes that live for the session (servers shared by many tests)."""
    yield from _factory()


def sync_from(sandbox: RunningSandbox, path: Path) -> str:
    """The real sync of the cache file at `path` from `sandbox`; the run's mode (full | incremental)."""
    settings = Settings(api_url=sandbox.api_url, api_token=sandbox.token, cache_path=path)
    with Cache(path) as cache:
        result = run_sync(cache, settings)
        assert result.ok, result.error
        with cache.reader() as cur:
            return str(cur.execute("SELECT mode FROM sync_runs ORDER BY id DESC LIMIT 1").fetchone()[0])
