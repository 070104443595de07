"""Helpers for sync tests: a private sandbox (for drift and faults), fast retries, cache comparisons."""

from __future__ import annotations

import datetime as dt
import enum
import random
from pathlib import Path
from typing import Any

import pytest

from kontur.cache import Cache
from kontur.client import BrusnikaClient
from kontur.models import ENTITIES, INBOUND_MODELS
from kontur.retry import RetryPolicy
from kontur.sandbox.server import RunningSandbox
from kontur.schema import COLUMNS, TABLES
from tests.support.sandboxes import SandboxFactory

# Retries as in production, but with millisecond backoff so a test under faults stays quick.
FAST_RETRY = RetryPolicy(max_attempts=6, backoff_base=0.01, backoff_cap=0.05, max_retry_after=5)
PRIVATE_SEED = 4242


@pytest.fixture(scope="module")
def private_sandbox(module_sandboxes: SandboxFactory) -> RunningSandbox:
    """A sandbox of our own, so drift and faults never disturb the shared session sandbox.
    Small: every test here reads all of it several times."""
    return module_sandboxes(scale=0.01, seed=PRIVATE_SEED)


@pytest.fixture
def fresh_sandbox(private_sandbox: RunningSandbox) -> RunningSandbox:
    """The private sandbox with its generated data back and no faults."""
    admin = private_sandbox.admin()
    admin.reset()
    admin.clear_faults()
    return private_sandbox


def client_for(sandbox: RunningSandbox, retry: RetryPolicy = FAST_RETRY) -> BrusnikaClient:
    return BrusnikaClient(base_url=sandbox.api_url, token=sandbox.token, retry=retry)


def open_cache(tmp_path: Path, name: str = "kontur.duckdb") -> Cache:
    return Cache(tmp_path / name, memory_limit="256MB")


def _stored(entity: str, column: str, sql_type: str, value: Any) -> Any:
    """A validated model attribute as the cache stores it."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list):
        return [v.value if isinstance(v, enum.Enum) else v for v in value]
    if isinstance(value, str) and sql_type == "DOUBLE":
        return float(value)
    if isinstance(value, str) and sql_type in ("INTEGER", "BIGINT"):
        return int(value)
    return value


def expected_row(entity: str, wire: dict[str, Any]) -> dict[str, Any]:
    model = INBOUND_MODELS[entity].model_validate(wire)
    return {
        column: _stored(entity, column, sql_type, getattr(model, column))
        for column, sql_type in COLUMNS[entity]
    }


def cache_rows(cache: Cache, entity: str, ids: list[int]) -> dict[int, dict[str, Any]]:
    cur = cache.reader()
    try:
        rel = cur.execute(
            f"SELECT * FROM {TABLES[entity]} WHERE list_contains(?::BIGINT[], id)",  # noqa: S608
            [ids],
        )
        names = [d[0] for d in rel.description]
        return {row[0]: dict(zip(names, row, strict=True)) for row in rel.fetchall()}
    finally:
        cur.close()


def cache_ids(cache: Cache, entity: str) -> list[int]:
    cur = cache.reader()
    try:
        return [r[0] for r in cur.execute(f"SELECT id FROM {TABLES[entity]} ORDER BY id").fetchall()]  # noqa: S608
    finally:
        cur.close()


def assert_cache_equals_sandbox(
    cache: Cache,
    sandbox: RunningSandbox,
    *,
    sample: int = 40,
    entities: tuple[str, ...] = ENTITIES,
    except_ids: dict[str, set[int]] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Every entity: the same set of ids as the sandbox's live records, and a field-level comparison
    of a random sample of them (plus the first and last). Returns the sandbox's records."""
    admin = sandbox.admin()
    truth: dict[str, list[dict[str, Any]]] = {}
    rng = random.Random(7)
    for entity in entities:
        records = admin.records(entity)
        truth[entity] = records
        skip = (except_ids or {}).get(entity, set())
        expected_ids = sorted(r["id"] for r in records if r["id"] not in skip)
        assert cache_ids(cache, entity) == expected_ids, entity
        chosen = [r for r in records if r["id"] not in skip]
        picks = rng.sample(chosen, min(sample, len(chosen))) + chosen[:1] + chosen[-1:]
        stored = cache_rows(cache, entity, [r["id"] for r in picks])
        for wire in picks:
            assert stored[wire["id"]] == expected_row(entity, wire), (entity, wire["id"])
    return truth


def table_fingerprints(cache: Cache) -> dict[str, tuple[int, int]]:
    """(row count, order-independent content hash) of every inbound table."""
    cur = cache.reader()
    try:
        out = {}
        for table in TABLES.values():
            row = cur.execute(f"SELECT count(*), coalesce(sum(hash(t)), 0) FROM {table} t").fetchone()  # noqa: S608
            assert row is not None
            out[table] = (int(row[0]), int(row[1]))
        return out
    finally:
        cur.close()


def utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC)
