"""AppTest fixtures: the real app script, configured through the environment to read a cache that the
real REST sync filled from the session sandbox. Independent checks read the same file through their
own `Cache` (same process, same DuckDB instance) with SQL written in the tests, not the app's queries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kontur.cache import Cache
from kontur.sandbox.server import RunningSandbox, start_sandbox
from tests.conftest import TEST_SCALE, TEST_SEED
from tests.pages.helpers import APP, configure, fill_cache


@pytest.fixture(scope="session")
def sandbox() -> Iterator[RunningSandbox]:
    """The page suites' sandbox: the generated world plus the records the contract allows but the
    generator never makes (`--edge-cases`: empty photo lists, a zero-size premise, floor -3, a lead of
    an agent absent from the directory, a building without premises, ...). Every page test runs on
    them."""
    with start_sandbox(scale=TEST_SCALE, seed=TEST_SEED, extra_args=("--edge-cases",)) as running:
        yield running


@pytest.fixture(scope="session")
def synced_cache(sandbox: RunningSandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pages-cache") / "kontur.duckdb"
    fill_cache(sandbox, path)
    return path


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, sandbox: RunningSandbox, synced_cache: Path) -> AppTest:
    """The app on the synced cache, on Availability (the landing page, «Сегодня», is run first)."""
    configure(monkeypatch, sandbox, synced_cache)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    at.switch_page("pages/availability.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.fixture
def db(synced_cache: Path) -> Iterator[Cache]:
    """An independent handle on the same cache file for ground-truth SQL."""
    cache = Cache(synced_cache)
    try:
        yield cache
    finally:
        cache.close()
