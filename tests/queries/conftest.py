"""Fixtures of the query tests: an empty cache file of today's layout, filled by each test with the
records it is about (hand-built, so the expected numbers are known independently of the queries)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kontur.cache import Cache


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Cache]:
    with Cache(tmp_path / "kontur.duckdb") as opened:
        yield opened
