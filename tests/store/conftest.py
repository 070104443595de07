"""Fixtures of the operational store's tests: one real PostgreSQL server per session, and a fresh
store per test on each backend (`store` is parametrised: every test runs against SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kontur.store.db import Store
from tests.support.postgres import PostgresServer

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each backend: a new SQLite file, or a new database on the session server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ops.sqlite'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store.open(store_url) as opened:
        yield opened


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    """An empty PostgreSQL database (for tests about replicas sharing one server)."""
    return postgres.new_database()
