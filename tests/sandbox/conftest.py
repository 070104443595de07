"""Fixtures of the sandbox's own tests: plain httpx against real sandbox processes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kontur.sandbox.server import RunningSandbox, start_sandbox

SCALE = 0.02


@pytest.fixture(scope="module")
def own_sandbox() -> Iterator[RunningSandbox]:
    """A sandbox of this module alone: its tests mutate data and switch faults, which the shared
    session sandbox must not see."""
    with start_sandbox(scale=SCALE, seed=11) as running:
        yield running


@pytest.fixture
def api(own_sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=own_sandbox.api_url, timeout=30,
                      headers={"Authorization": f"Bearer {own_sandbox.token}"}) as client:
        yield client


def _fetch_all(client: httpx.Client, entity: str, limit: int = 1000,
              **params: Any) -> tuple[list[dict[str, Any]], int]:
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
