"""Deleting the cache file loses none of Kontur's own records: a dashboard runtime (`start_runtime`)
on a synced cache and the operational store (both backends) records a booking a manager made for an
agent; the runtime stops, the cache file is deleted, a new runtime starts on an empty cache and the
real REST sync refills it. The users directory, the audit and the bookings list (with the premise's
labels from the new cache) are what they were."""

from __future__ import annotations

from pathlib import Path

import pytest

from kontur.auth.actor import Actor
from kontur.auth.scopes import ReadScope
from kontur.client import BrusnikaClient
from kontur.config import Settings
from kontur.forms import clients, lookups
from kontur.forms.context import FormContext
from kontur.runtime import Runtime, start_runtime
from kontur.sandbox.server import RunningSandbox
from kontur.store import schema
from kontur.sync import run_sync
from tests.support import ops_store
from tests.support.form_records import book_through_forms
from tests.support.sandbox_records import free_premise
from tests.support.sandboxes import SandboxFactory

SEED = 731


@pytest.fixture(scope="module")
def box(module_sandboxes: SandboxFactory) -> RunningSandbox:
    return module_sandboxes(scale=0.02, seed=SEED)  # its own: the test books a premise


@pytest.fixture(params=ops_store.BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path, box: RunningSandbox) -> Settings:
    return Settings(
        api_url=box.api_url,
        api_token=box.token,
        cache_path=tmp_path / "kontur.duckdb",
        database_url=ops_store.store_url(request, tmp_path),
        auto_sync=False,  # the test syncs itself, once per cache
    )


def synced(settings: Settings) -> Runtime:
    runtime = start_runtime(settings)
    with runtime.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM premises").fetchone()[0] == 0
    result = run_sync(runtime.cache, settings)
    assert result.ok, result.error
    return runtime


def snapshot(runtime: Runtime) -> dict:
    with runtime.cursor() as cur:
        listed = lookups.bookings_here(runtime.store, cur, ReadScope.everyone())
        mirrored = cur.execute("SELECT count(*) FROM directory_mirror").fetchone()[0]
    return {
        "users": ops_store.count(runtime.store, schema.users),
        "mirrored": mirrored,
        "audit": ops_store.audit_rows(runtime.store),
        "bookings": listed,
    }


def book_for_an_agent(runtime: Runtime, box: RunningSandbox) -> int:
    directory = box.admin().users()
    usable = [u for u in directory if u["status"] == "active" and u["remaining_user_creation_limit"] > 0]
    manager = next(u for u in usable if u["role"] == "MANAGER")
    agent = next(u for u in usable if u["role"] == "AGENT")
    premise = free_premise(box)
    with runtime.cursor() as cur, BrusnikaClient(base_url=box.api_url, token=box.token) as api:
        ctx = FormContext(
            client=api,
            conn=cur,
            store=runtime.store,
            actor=Actor.from_row(manager),
            write_lock=runtime.cache.write_lock,
            agent_id=agent["id"],
        )
        made = clients.create(
            ctx, clients.ClientInput(fullname="Пересборова Ирина", phone_number="+79995550123")
        )
        assert made.ok, made.message
        assert made.result is not None
        booked = book_through_forms(ctx, premise, made.result.id, days_ahead=3, time="11:00")
    return booked.id


def test_deleting_the_cache_file_keeps_users_audit_and_bookings(
    settings: Settings, box: RunningSandbox
) -> None:
    first = synced(settings)
    try:
        ops_store.seed(first.store, box.admin().users())
        first.directory_changed()
        booking_id = book_for_an_agent(first, box)
        before = snapshot(first)
    finally:
        first.close()
    assert before["users"] == len(box.admin().users())
    assert [b["id"] for b in before["bookings"]] == [booking_id]
    assert before["bookings"][0]["premise_number"] is not None  # labelled from the cache
    assert {r["action"] for r in before["audit"]} >= {"create_client", "create_booking"}

    cache_file = Path(settings.cache_path)
    for path in (cache_file, cache_file.with_name(cache_file.name + ".wal")):
        path.unlink(missing_ok=True)
    assert not cache_file.exists()

    second = synced(settings)  # an empty cache, refilled by the real sync
    try:
        after = snapshot(second)
    finally:
        second.close()
    assert after == before
    assert after["mirrored"] == after["users"]  # the new cache's mirror refilled from the store
