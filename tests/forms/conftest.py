"""Fixtures of the form tests: a private sandbox (these tests book premises and slots, which other
folders' tests would notice), a cache file filled from it by the real REST sync, Kontur's operational
store with the sandbox's directory (SQLite; PostgreSQL in the modules that ask for both backends with
`pytestmark = pytest.mark.parametrize("store_backend", BACKENDS, indirect=True)`), and form contexts
acting as real directory users."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from kontur.auth import directory
from kontur.auth.actor import Actor
from kontur.cache import Cache
from kontur.client import BrusnikaClient
from kontur.forms.context import FormContext
from kontur.retry import RetryPolicy
from kontur.sandbox.server import RunningSandbox
from kontur.store.db import Store
from kontur.sync import run_sync
from tests.support import ops_store
from tests.support.sandboxes import SandboxFactory
from tests.support.transport import CountingTransport

FORMS_SEED = 424242
# Two attempts, no waiting: a lost answer is repeated once by the retry transport (same key, same
# body), as the forms' interactive policy does within its budget.
TWO_ATTEMPTS = RetryPolicy(max_attempts=2, backoff_base=0.0, backoff_cap=0.0, max_retry_after=1)


@pytest.fixture(scope="session")
def forms_sandbox(session_sandboxes: SandboxFactory) -> RunningSandbox:
    return session_sandboxes(scale=0.02, seed=FORMS_SEED)


@pytest.fixture(scope="session")
def forms_cache_file(forms_sandbox: RunningSandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache synced once from the forms sandbox; tests copy it so each starts from the same state."""
    path = tmp_path_factory.mktemp("forms-cache") / "seed.duckdb"
    with (
        Cache(path) as cache,
        BrusnikaClient(base_url=forms_sandbox.api_url, token=forms_sandbox.token) as client,
    ):
        result = run_sync(cache, client)
        assert result.ok, result
    return path


@pytest.fixture
def store_backend(request: pytest.FixtureRequest) -> str:
    """SQLite unless the module parametrises it (indirect) over `ops_store.BACKENDS`."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def store(
    store_backend: str, request: pytest.FixtureRequest, tmp_path: Path, forms_sandbox: RunningSandbox
) -> Iterator[Store]:
    """A fresh operational store of the backend, with the sandbox's directory as it is now (earlier
    tests of the session spent some agents' bookings there: the store starts from Brusnika's count)."""
    if store_backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    else:
        url = request.getfixturevalue("postgres").new_database()
    with Store.open(url) as opened:
        ops_store.seed(opened, forms_sandbox.admin().users())
        yield opened


@pytest.fixture
def cache(forms_cache_file: Path, tmp_path: Path) -> Iterator[Cache]:
    copy = tmp_path / "kontur.duckdb"
    copy.write_bytes(forms_cache_file.read_bytes())
    with Cache(copy) as opened:
        yield opened


@pytest.fixture
def conn(cache: Cache) -> Iterator[duckdb.DuckDBPyConnection]:
    cur = cache.cursor()
    yield cur
    cur.close()


@pytest.fixture
def api(forms_sandbox: RunningSandbox) -> Iterator[BrusnikaClient]:
    with BrusnikaClient(base_url=forms_sandbox.api_url, token=forms_sandbox.token) as client:
        yield client


def directory_user(store: Store, **where: Any) -> dict:
    """A user of the directory matching `where` (status, role, remaining > 0 via `can_book`)."""
    can_book = where.pop("can_book", None)
    # `<field>_not=value`: any value but this one.
    unlike = {k.removesuffix("_not"): where.pop(k) for k in [k for k in where if k.endswith("_not")]}
    with store.read() as tx:
        rows = directory.users(tx)
    for row in rows:
        matches = all(row.get(k) == v for k, v in where.items())
        matches = matches and all(row.get(k) != v for k, v in unlike.items())
        if matches and (can_book is None or (row["remaining_user_creation_limit"] > 0) == can_book):
            return row
    pytest.fail(f"no directory user with {where} (can_book={can_book}) in the sandbox data")


@pytest.fixture
def agent(store: Store) -> Actor:
    return Actor.from_row(directory_user(store, status="active", role="AGENT", can_book=True))


@pytest.fixture
def make_ctx(
    cache: Cache, conn: duckdb.DuckDBPyConnection, store: Store, api: BrusnikaClient, agent: Actor
) -> Callable[..., FormContext]:
    """A form context as the dashboard builds it (the store, the cache's write lock); `agent_id` is
    the agent chosen to act for. Idempotency keys live in the store: two contexts of one actor share
    them, as two clicks (or two replicas) do."""

    def make(
        *, actor: Actor | None = agent, client: BrusnikaClient | None = None, agent_id: int | None = None
    ) -> FormContext:
        return FormContext(
            client=client or api,
            conn=conn,
            store=store,
            actor=actor,
            clock=lambda: dt.datetime.now(),
            write_lock=cache.write_lock,
            agent_id=agent_id,
        )

    return make


class LosingTransport(httpx.BaseTransport):
    """Real HTTP to the sandbox, but for the first `lose` POSTs something goes wrong on the way:
    `mode="after"` sends the request and loses the answer (Brusnika did the work, we never heard);
    `mode="before"` fails to connect (nothing reached Brusnika)."""

    def __init__(self, lose: int = 1, mode: str = "after") -> None:
        self._inner = httpx.HTTPTransport()
        self.lose = lose
        self.mode = mode
        self.posts = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and self.lose > 0:
            self.lose -= 1
            self.posts += 1
            if self.mode == "before":
                raise httpx.ConnectError("connection refused (simulated)", request=request)
            response = self._inner.handle_request(request)
            response.read()
            response.close()
            raise httpx.ReadTimeout("answer lost (simulated)", request=request)
        if request.method == "POST":
            self.posts += 1
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


@pytest.fixture
def losing_client(forms_sandbox: RunningSandbox) -> Callable[..., BrusnikaClient]:
    made: list[BrusnikaClient] = []

    def make(lose: int = 1, mode: str = "after") -> BrusnikaClient:
        client = BrusnikaClient(
            base_url=forms_sandbox.api_url,
            token=forms_sandbox.token,
            transport=LosingTransport(lose, mode),
            retry=TWO_ATTEMPTS,
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def counted(forms_sandbox: RunningSandbox) -> tuple[BrusnikaClient, CountingTransport]:
    """A client of the forms sandbox whose transport records every request that went out."""
    transport = CountingTransport()
    return BrusnikaClient(
        base_url=forms_sandbox.api_url, token=forms_sandbox.token, transport=transport
    ), transport
