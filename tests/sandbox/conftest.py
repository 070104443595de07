"""Fixtures of the sandbox's own tests: plain httpx against real sandbox processes, REST syncs into
real DuckDB files, and a real Kafka-protocol broker for the publisher."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from kontur.cache import Cache
from kontur.config import Settings
from kontur.sandbox.server import RunningSandbox
from kontur.sync import SyncResult, run_sync
from tests.support.kafka_broker import Broker
from tests.support.sandboxes import SandboxFactory

SCALE = 0.02


@pytest.fixture(scope="module")
def own_sandbox(module_sandboxes: SandboxFactory) -> RunningSandbox:
    """A sandbox of this module alone: its tests mutate data and switch faults, which the shared
    session sandbox must not see."""
    return module_sandboxes(scale=SCALE, seed=11)


@pytest.fixture
def clean(own_sandbox: RunningSandbox) -> Iterator[Any]:
    """The private sandbox's admin client, with no faults switched on before and after the test."""
    admin = own_sandbox.admin()
    admin.clear_faults()
    yield admin
    admin.clear_faults()


@pytest.fixture
def api(own_sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=own_sandbox.api_url, timeout=30, headers={"Authorization": f"Bearer {own_sandbox.token}"}
    ) as client:
        yield client


def _fetch_all(
    client: httpx.Client, entity: str, limit: int = 1000, **params: Any
) -> tuple[list[dict[str, Any]], int]:
    """Every item of a feed, following cursors; also returns how many pages it took."""
    items: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        query = {"limit": limit, **params}
        if cursor:
            query["cursor"] = cursor
        response = client.get(f"/{entity}", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages


def _error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["code"], str)
    assert isinstance(body["error"]["message"], str)
    assert isinstance(body["error"]["details"], dict | list)
    return body["error"]


@pytest.fixture(scope="session")
def fetch_all() -> Any:
    return _fetch_all


@pytest.fixture(scope="session")
def error_of() -> Any:
    return _error_of


def sync_into(cache_file: Path, sandbox: RunningSandbox, mode: str | None = None) -> SyncResult:
    """A REST sync of `sandbox` into the DuckDB file `cache_file`, as the dashboard runs it."""
    settings = Settings(api_url=sandbox.api_url, api_token=sandbox.token, cache_path=cache_file)
    with Cache(cache_file, memory_limit="256MB") as cache:
        return run_sync(cache, settings, mode=mode)  # type: ignore[arg-type]


def cache_query(cache_file: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(cache_file), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


@pytest.fixture(scope="module")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Kafka-protocol broker for the publisher's tests (tests/support/kafka_broker.py)."""
    broker = Broker(tmp_path_factory.mktemp("sandbox-kafka"))
    try:
        yield broker.start().bootstrap
    finally:
        broker.stop()
