"""Kontur's records follow Brusnika exactly (issue 11, item 7), against the real sandbox over HTTP, a
real DuckDB cache and the operational store (SQLite and PostgreSQL): a replayed booking keeps the
quota; a success the store could not record is not announced as one (and the same submission again
repairs it); a 2xx whose body breaks the contract is reported as accepted-but-unread; a form against a
Brusnika answering 5xx forever returns within the interactive budget with "result unknown, repeat is
safe"; the key of a submission lives in the store, so a repeat from another process replays."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import duckdb
import pytest

from kontur.auth.actor import Actor
from kontur.client import BrusnikaClient
from kontur.config import Settings
from kontur.forms import bookings, clients
from kontur.forms.context import FormContext
from kontur.forms.submit import STORE_DOWN, UNKNOWN, UNREADABLE
from kontur.models import Client
from kontur.retry import RetryPolicy
from kontur.sandbox.server import RunningSandbox
from kontur.store import schema
from kontur.store.db import Store
from tests.support import ops_store
from tests.support.form_records import landlines
from tests.support.sandbox_records import free_premise_in_cache
from tests.support.transport import CountingTransport

from .helpers import outbound_count, records

pytestmark = pytest.mark.parametrize("store_backend", ops_store.BACKENDS, indirect=True)

TOMORROW = dt.date.today() + dt.timedelta(days=1)
_phone = landlines(4_100_000, 13)


@pytest.fixture
def agent(store: Store, forms_sandbox: RunningSandbox) -> Actor:
    """The acting agent (overrides the folder's): the one with the most bookings left at Brusnika
    now, so earlier tests of the session, which spend agents' limits, cannot exhaust it."""
    with forms_sandbox.admin() as admin:
        best = max(
            (u for u in admin.users() if u["role"] == "AGENT" and u["status"] == "active"),
            key=lambda u: (u["remaining_user_creation_limit"], -u["id"]),
        )
    assert best["remaining_user_creation_limit"] >= 3, "the sandbox's agents have run out of bookings"
    from kontur.auth import directory

    with store.read() as tx:
        row = directory.user(tx, best["id"])
    assert row is not None
    return Actor.from_row(row)


@pytest.fixture
def faults(forms_sandbox: RunningSandbox) -> Iterator[Callable[..., None]]:
    """Switch sandbox faults for one test; always cleared after it (the sandbox is shared)."""
    admin = forms_sandbox.admin()
    yield lambda **f: admin.set_faults(**f) and None
    admin.clear_faults()
    admin.close()


@pytest.fixture
def client_record(make_ctx: Callable[..., FormContext]) -> Client:
    phone = _phone()
    made = clients.create(make_ctx(), clients.ClientInput(fullname="Кузнецова Дарья", phone_number=phone))
    assert made.ok, made.message
    assert made.result is not None
    return made.result


def booking_input(premise: dict, client: Client, time: str = "11:30") -> bookings.BookingInput:
    return bookings.BookingInput(
        premise_id=premise["id"],
        client_id=client.id,
        date=TOMORROW,
        time=time,
        purchase_option=(premise["purchase_option"] or ["mortage"])[0],
    )


def local_quota(store: Store, user_id: int) -> int:
    return ops_store.remaining(store, user_id)


def brusnika_quota(sandbox: RunningSandbox, user_id: int) -> int:
    with sandbox.admin() as admin:
        return int(next(u for u in admin.users() if u["id"] == user_id)["remaining_user_creation_limit"])


def audit(store: Store, action: str) -> list[tuple]:
    return [(r["outcome"], r["message"], r["brusnika_id"]) for r in ops_store.audit_rows(store, action)]


def test_replayed_booking_keeps_the_quota(
    make_ctx: Callable[..., FormContext],
    conn: duckdb.DuckDBPyConnection,
    store: Store,
    forms_sandbox: RunningSandbox,
    client_record: Client,
    agent: Actor,
) -> None:
    premise = free_premise_in_cache(conn, forms_sandbox, newest_building_first=True)
    before_local, before_brusnika = local_quota(store, agent.id), brusnika_quota(forms_sandbox, agent.id)
    first = bookings.create(make_ctx(), booking_input(premise, client_record))
    assert first.ok, first.message
    # A double click / a retry: the same submission, the same Idempotency-Key, Brusnika's replay.
    again = bookings.create(make_ctx(), booking_input(premise, client_record))
    assert again.ok, again.message
    assert first.result is not None
    assert again.result is not None
    assert again.result.id == first.result.id
    assert brusnika_quota(forms_sandbox, agent.id) == before_brusnika - 1
    assert local_quota(store, agent.id) == before_local - 1  # once, as Brusnika counted it
    assert ops_store.count(store, schema.bookings, schema.bookings.c.id == first.result.id) == 1
    assert (
        ops_store.count(store, schema.booking_quota, schema.booking_quota.c.booking_id == first.result.id)
        == 1
    )


def test_failed_local_write_is_not_announced_and_the_same_submission_repairs_it(
    make_ctx: Callable[..., FormContext],
    conn: duckdb.DuckDBPyConnection,
    store: Store,
    forms_sandbox: RunningSandbox,
    client_record: Client,
    agent: Actor,
) -> None:
    premise = free_premise_in_cache(conn, forms_sandbox, newest_building_first=True)
    before_count = outbound_count(forms_sandbox, "bookings")
    before_local = local_quota(store, agent.id)
    # The store's bookings table cannot be written (here: it is gone); Brusnika itself is fine.
    schema.bookings.drop(store.engine)
    outcome = bookings.create(make_ctx(), booking_input(premise, client_record, "12:10"))
    assert outcome.ok  # Brusnika made it...
    assert outcome.result is not None
    assert not outcome.stored_locally  # ...but it is not announced as done here
    assert f"Бронь №{outcome.result.id} создана" in outcome.message
    assert "сохранить это в Контуре не удалось" in outcome.message
    assert "повторная отправка этой же формы" in outcome.message
    assert outcome.outcome == "unsaved"
    assert outbound_count(forms_sandbox, "bookings") == before_count + 1
    assert records(forms_sandbox, "premises")[premise["id"]]["is_booked"] is True
    assert local_quota(store, agent.id) == before_local  # the write was all or nothing
    assert ops_store.count(store, schema.booking_quota) == 0
    row = audit(store, "create_booking")[-1]
    assert row[0] == "unsaved"
    assert "не удалось" in row[1]
    assert row[2] == outcome.result.id

    # The table is back (a restart migrates it); the person sends the same form again.
    schema.bookings.create(store.engine)
    repaired = bookings.create(make_ctx(), booking_input(premise, client_record, "12:10"))
    assert repaired.ok, repaired.message
    assert repaired.stored_locally
    assert repaired.result is not None
    assert repaired.result.id == outcome.result.id
    assert outbound_count(forms_sandbox, "bookings") == before_count + 1  # nothing made twice
    assert local_quota(store, agent.id) == before_local - 1
    stored = ops_store.row(store, schema.bookings, outcome.result.id)
    assert stored is not None
    assert stored["status"] == "open"


def test_the_key_lives_in_the_store_so_another_process_replays(
    make_ctx: Callable[..., FormContext],
    conn: duckdb.DuckDBPyConnection,
    store: Store,
    forms_sandbox: RunningSandbox,
    client_record: Client,
    agent: Actor,
    faults: Callable[..., None],
) -> None:
    """No answer on one replica (or before a crash); the same submission from a new process (a new
    store engine on the same database, a new client) reuses the claimed key: one booking, one quota."""
    premise = free_premise_in_cache(conn, forms_sandbox, newest_building_first=True)
    before = outbound_count(forms_sandbox, "bookings")
    before_local = local_quota(store, agent.id)
    faults(server_error=1.0)
    settings = Settings(api_url=forms_sandbox.api_url, api_token=forms_sandbox.token, interactive_budget=1.0)
    with BrusnikaClient.interactive(settings) as quick:
        lost = bookings.create(make_ctx(client=quick), booking_input(premise, client_record, "16:20"))
    assert lost.code == UNKNOWN
    keys = [r["idempotency_key"] for r in ops_store.audit_rows(store, "create_booking")]
    faults(server_error=0.0)
    # Brusnika did it meanwhile with that key (as if our answer had been lost after it acted).
    with BrusnikaClient(base_url=forms_sandbox.api_url, token=forms_sandbox.token) as direct:
        made = direct.create_booking(
            bookings.validate(
                booking_input(premise, client_record, "16:20"), agent_id=agent.id, now=dt.datetime.now()
            )[0],  # type: ignore[arg-type]
            idempotency_key=keys[-1],
        )
    with Store.open(str(store.engine.url.render_as_string(hide_password=False))) as other:
        ctx = make_ctx()
        ctx.store = other
        again = bookings.create(ctx, booking_input(premise, client_record, "16:20"))
    assert again.ok, again.message
    assert again.result is not None
    assert again.result.id == made.id  # Brusnika replayed the booking it made with the stored key
    assert outbound_count(forms_sandbox, "bookings") == before + 1
    assert local_quota(store, agent.id) == before_local - 1


def test_store_down_sends_nothing(
    make_ctx: Callable[..., FormContext],
    conn: duckdb.DuckDBPyConnection,
    store: Store,
    forms_sandbox: RunningSandbox,
    client_record: Client,
) -> None:
    """Without its store Kontur cannot keep the submission's key: it sends nothing, and says so."""
    premise = free_premise_in_cache(conn, forms_sandbox, newest_building_first=True)
    before = outbound_count(forms_sandbox, "bookings")
    schema.submissions.drop(store.engine)
    try:
        outcome = bookings.create(make_ctx(), booking_input(premise, client_record, "17:40"))
    finally:
        schema.submissions.create(store.engine)
    assert not outcome.ok
    assert outcome.code == STORE_DOWN
    assert "ничего не отправлено" in outcome.message
    assert outbound_count(forms_sandbox, "bookings") == before


def test_contract_breaking_2xx_is_accepted_but_unread(
    make_ctx: Callable[..., FormContext],
    conn: duckdb.DuckDBPyConnection,
    store: Store,
    forms_sandbox: RunningSandbox,
    client_record: Client,
    faults: Callable[..., None],
) -> None:
    premise = free_premise_in_cache(conn, forms_sandbox, newest_building_first=True)
    before = outbound_count(forms_sandbox, "bookings")
    faults(broken_answer=1.0)
    outcome = bookings.create(make_ctx(), booking_input(premise, client_record, "13:20"))
    assert not outcome.ok
    assert outcome.code == UNREADABLE
    assert outcome.message.startswith("Брусника приняла запрос, но ответ не прочитан — проверьте")
    assert "Ничего не создано" not in outcome.message
    assert outbound_count(forms_sandbox, "bookings") == before + 1  # it was made
    assert audit(store, "create_booking")[-1][0] == "unknown"

    # Brusnika reads fine again: the same submission replays the first answer, nothing twice.
    faults(broken_answer=0.0)
    again = bookings.create(make_ctx(), booking_input(premise, client_record, "13:20"))
    assert again.ok, again.message
    assert again.stored_locally
    assert outbound_count(forms_sandbox, "bookings") == before + 1


def attempts_possible(policy: RetryPolicy) -> int:
    """The most attempts `policy` can make within its budget: every wait at least half its step
    (equal jitter) and a last attempt given at least 0.1 s (see kontur.retry)."""
    assert policy.budget is not None
    waited, attempts = 0.0, 1
    while attempts < policy.max_attempts:
        waited += min(policy.backoff_cap, policy.backoff_base * 2 ** (attempts - 1)) / 2
        if waited + 0.1 >= policy.budget:
            break
        attempts += 1
    return attempts


def test_503_forever_returns_within_the_interactive_budget(
    make_ctx: Callable[..., FormContext],
    conn: duckdb.DuckDBPyConnection,
    store: Store,
    forms_sandbox: RunningSandbox,
    client_record: Client,
    faults: Callable[..., None],
) -> None:
    settings = Settings(
        api_url=forms_sandbox.api_url,
        api_token=forms_sandbox.token,
        interactive_budget=2.0,
        retry_max_attempts=30,  # the patient policy would keep trying; the budget must end it
    )
    transport = CountingTransport()
    premise = free_premise_in_cache(conn, forms_sandbox, newest_building_first=True)
    before = outbound_count(forms_sandbox, "bookings")
    faults(server_error=1.0)
    with BrusnikaClient.interactive(settings, transport=transport) as quick:
        outcome = bookings.create(make_ctx(client=quick), booking_input(premise, client_record, "14:40"))
    assert not outcome.ok
    assert outcome.code == UNKNOWN
    assert "результат неизвестен" in outcome.message
    assert "повтор безопасен" in outcome.message
    posts = [s for s in transport.sent if s == "POST /api/v1/bookings"]
    assert 2 <= len(posts) <= attempts_possible(settings.retry_policy().within(2.0)) < 30
    assert outbound_count(forms_sandbox, "bookings") == before
    assert audit(store, "create_booking")[-1][0] == "unknown"

    # Brusnika is back: the person repeats, with the same key; exactly one booking.
    faults(server_error=0.0)
    with BrusnikaClient.interactive(settings) as quick:
        again = bookings.create(make_ctx(client=quick), booking_input(premise, client_record, "14:40"))
    assert again.ok, again.message
    assert outbound_count(forms_sandbox, "bookings") == before + 1


def test_a_hanging_brusnika_is_cut_at_the_budget_too(
    make_ctx: Callable[..., FormContext], forms_sandbox: RunningSandbox, faults: Callable[..., None]
) -> None:
    """Answers slower than the whole budget: the attempt's read timeout is cut to the budget, so the
    person does not wait the 30 s read timeout (times the attempts) the sync would. A search, so
    the late answer the sandbox still gives changes nothing."""
    settings = Settings(api_url=forms_sandbox.api_url, api_token=forms_sandbox.token, interactive_budget=1.5)
    transport = CountingTransport()
    faults(latency_ms=20_000)
    with BrusnikaClient.interactive(settings, transport=transport) as quick:
        outcome = clients.search(make_ctx(client=quick), "Кузнецова")
    assert not outcome.ok
    assert outcome.code == "unavailable"
    assert transport.sent == ["GET /api/v1/clients/search"]  # no time left for a second attempt
