"""Form writes against a sync commit: a booking whose local update arrives while a real full sync
(against the sandbox) is inside its commit transaction waits for that commit and lands on top of it,
so the cache ends as Brusnika is, and neither side fails. The booking itself is recorded in Kontur's
store, which the sync never touches."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import duckdb
import pytest

from kontur.auth.scopes import ReadScope
from kontur.cache import Cache, runs
from kontur.client import BrusnikaClient
from kontur.forms import bookings, clients, lookups
from kontur.forms.context import FormContext
from kontur.forms.submit import Outcome
from kontur.models import Booking
from kontur.sandbox.server import RunningSandbox
from kontur.store.db import Store
from kontur.sync import run_sync
from tests.support import ops_store
from tests.support.sandbox_records import free_premise_in_cache
from tests.support.waiting import eventually

from .helpers import records

# How long the commit stays open after Brusnika has booked: time enough for the form's local update to
# run (and, were it not serialised, to be overwritten by the commit). Nothing is asserted about time.
HOLD_SECONDS = 1.5
BRUSNIKA_WAIT_SECONDS = 60.0


def _premise_booked_in_cache(conn: duckdb.DuckDBPyConnection, premise_id: int) -> bool:
    row = conn.execute("SELECT is_booked FROM premises WHERE id = ?", [premise_id]).fetchone()
    assert row is not None
    return bool(row[0])


def test_booking_during_a_sync_commit_lands_after_it(
    make_ctx: Callable[..., FormContext],
    cache: Cache,
    conn: duckdb.DuckDBPyConnection,
    store: Store,
    api: BrusnikaClient,
    forms_sandbox: RunningSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ctx = make_ctx()
    made = clients.create(ctx, clients.ClientInput(fullname="Фомина Дарья", phone_number="8 812 733-00-11"))
    assert made.ok, made.message
    assert made.result is not None
    premise = free_premise_in_cache(conn, forms_sandbox, newest_building_first=True)
    values = bookings.BookingInput(
        premise_id=premise["id"],
        client_id=made.result.id,
        date=dt.date.today() + dt.timedelta(days=2),
        time="13:00",
        purchase_option=(premise["purchase_option"] or ["mortage"])[0],
    )
    booked: list[Outcome[Booking]] = []
    form = threading.Thread(target=lambda: booked.append(bookings.create(ctx, values)), name="form")
    in_commit: list[bool] = []

    # The sync's commit transaction (all entities applied, the run row next) is where the booking is
    # made: the sync's premises snapshot was fetched before it, so it says "free".
    original = runs.finish_run

    def record_run_with_a_booking_meanwhile(cur: Any, run_id: int, results: Any) -> None:
        in_commit.append(True)
        form.start()

        def booked_in_brusnika() -> bool:
            if records(forms_sandbox, "premises")[premise["id"]]["is_booked"]:
                return True
            assert form.is_alive() or booked, "the form ended before Brusnika booked"
            return False

        what = "Brusnika booking the premise"
        eventually(booked_in_brusnika, timeout=BRUSNIKA_WAIT_SECONDS, interval=0.05, what=what)
        # Brusnika has booked; the form now writes the cache. Keep the commit open meanwhile.
        form.join(HOLD_SECONDS)
        original(cur, run_id, results)

    monkeypatch.setattr(runs, "finish_run", record_run_with_a_booking_meanwhile)
    result = run_sync(cache, api, mode="full")
    monkeypatch.undo()
    form.join()

    assert in_commit == [True]
    assert result.ok, result
    assert len(booked) == 1
    outcome = booked[0]
    assert outcome.ok, outcome.message
    assert outcome.result is not None
    # Brusnika and the cache agree: booked in both, the booking listed here, the action audited.
    assert records(forms_sandbox, "premises")[premise["id"]]["is_booked"] is True
    assert _premise_booked_in_cache(conn, premise["id"]) is True
    assert premise["id"] not in {p["id"] for p in lookups.free_premises(conn, premise["building_id"])}
    listed = {b["id"]: b["status"] for b in lookups.bookings_here(store, conn, ReadScope.everyone())}
    assert listed[outcome.result.id] == "open"
    audited = ops_store.audit_rows(store)
    assert (audited[-1]["action"], audited[-1]["outcome"]) == ("create_booking", "success")
    # The run that was committing finished as succeeded, with the premise snapshot it fetched.
    run = cache.run(result.run_id)
    assert run is not None
    assert run["status"] == "succeeded"

    # The next sync reconciles to the same state (nothing the form wrote was a guess).
    again = run_sync(cache, api)
    assert again.ok, again
    assert _premise_booked_in_cache(conn, premise["id"]) is True
