"""The directory reads other parts scope with (`directory.agency_members`, `scope_for`, `users`) on
Kontur's operational store (SQLite and PostgreSQL), and `session.current_actor()` in a real Streamlit
script run (AppTest): the picked user in the picker modes, the signed-in one with `[auth]`, re-read
from the store on every call (a block written by another process counts at once), and nobody when no
gate has run or the person is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from kontur import ui
from kontur.auth import directory
from kontur.auth.actor import Actor
from kontur.auth.policy import Action
from kontur.auth.session import ACTOR_STATE_KEY
from kontur.config import Settings
from kontur.store import schema
from kontur.store.db import Store
from tests.support import ops_store

A, B = 10, 20


def person(uid: int, role: str, agency: int | None, *, status: str = "active") -> dict:
    return {
        "id": uid,
        "lastName": f"Тестов{uid}",
        "firstName": "Иван",
        "phone": "+79990000000",
        "email": f"user{uid}@agency.test",
        "status": status,
        "role": role,
        "agency_id": agency,
        "remaining_user_creation_limit": 2,
    }


PEOPLE = [
    person(1, "ADMIN", None),
    person(2, "AGENT", A),
    person(3, "AGENT", A),
    person(4, "HEAD_OF_AGENCY", A),
    person(5, "AGENT", B),
    person(6, "AGENT", A, status="blocked"),
]


@pytest.fixture(params=ops_store.BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with Store.open(ops_store.store_url(request, tmp_path)) as opened:
        ops_store.seed(opened, PEOPLE)
        yield opened


@pytest.fixture
def cache_path(tmp_path: Path) -> Path:
    """Where the probe app's cache goes; its store (the default, beside it) holds the directory."""
    path = tmp_path / "kontur.duckdb"
    ops_store.seed_url(Settings(cache_path=path).ops_database_url(), PEOPLE)
    return path


def test_agency_members_and_scopes(store: Store) -> None:
    with store.read() as conn:
        assert directory.agency_members(conn, A) == [2, 3, 4, 6]
        assert directory.agency_members(conn, B) == [5]
        assert directory.agency_members(conn, 999) == []
        agent = directory.acting_user(conn, 2)
        assert agent is not None
        assert agent.agency_id == A
        scope = directory.scope_for(conn, agent, Action.VIEW_LEADS)
        assert scope.agent_ids == {2, 3, 4, 6}
        assert not scope.allows(5)
        # The Users page's list: a head of agency sees their agency, an agent nobody, an admin all.
        head = directory.acting_user(conn, 4)
        listed = {
            u["id"] for u in directory.users(conn, directory.scope_for(conn, head, Action.MANAGE_USERS))
        }
        assert listed == {2, 3, 4, 6}
        assert directory.users(conn, directory.scope_for(conn, agent, Action.MANAGE_USERS)) == []
        admin = directory.acting_user(conn, 1)
        assert len(directory.users(conn, directory.scope_for(conn, admin, Action.MANAGE_USERS))) == 6
        assert directory.acting_user(conn, 999) is None
        stored = directory.stored_user(conn, 5)
        assert stored is not None
        assert stored.agency_id == B
        assert directory.names(conn, {2, 5}) == {2: "Тестов2 Иван", 5: "Тестов5 Иван"}
        assert directory.find_by_email(conn, "  USER5@agency.test ")[0].id == 5


def test_owners_of_records_come_from_the_store(store: Store) -> None:
    """Whose a booking, a visit or a client is (for the policy), as Kontur recorded them."""
    from kontur.store import bookings, clients, visits
    from tests.store import factories

    with store.write() as tx:
        bookings.save_bookings(tx, [factories.booking(71, agent_id=5)], recorded_by=1)
        visits.save_visits(tx, [factories.visit(72, agent_id=2)], recorded_by=1)
        clients.save_clients(tx, [factories.client(73, agent_id=3)], recorded_by=1)
    with store.read() as conn:
        assert directory.booking_resource(conn, 71) == directory.agent_resource(conn, 5)
        assert directory.booking_resource(conn, 71).agency_id == B
        assert directory.visit_resource(conn, 72).agency_id == A
        assert directory.client_resource(conn, 73).agent_id == 3
        # Never recorded here: the owner is unknown (only "any record" roles may act on it).
        unknown = directory.booking_resource(conn, 999)
        assert (unknown.agent_id, unknown.agency_id) == (None, None)


def test_an_empty_directory(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'empty.sqlite'}") as empty, empty.read() as conn:
        assert directory.agency_members(conn, A) == []
        assert directory.users(conn) == []


PROBE = """
import streamlit as st
from kontur import ui
from kontur.auth import session

rt = ui.runtime()
gate_first = st.session_state.get("probe_gate", True)
if gate_first:
    session.app_gate(rt, session.access_mode(rt.settings))
actor = session.current_actor()
st.text(f"actor={actor.id if actor else None}; role={actor.role if actor else None}")
"""


@pytest.fixture
def probe(cache_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    # A configured API (never called here) with the development picker, or [auth] per test.
    monkeypatch.setenv("BRUSNIKA_API_URL", "http://127.0.0.1:9/api/v1")
    monkeypatch.setenv("BRUSNIKA_API_TOKEN", "not-used-by-this-test")
    monkeypatch.setenv("KONTUR_CACHE_PATH", str(cache_path))
    monkeypatch.setenv("KONTUR_AUTO_SYNC", "0")
    at = AppTest.from_string(PROBE, default_timeout=60)
    yield at
    settings = Settings.from_env()
    ui._runtime(str(settings.cache_path), settings.api_url).close()
    ui._runtime.clear()


def shown(at: AppTest) -> str:
    assert not at.exception, [e.message for e in at.exception]
    return " ".join(t.value for t in at.text)


def test_current_actor_is_the_picked_user(probe: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KONTUR_INSECURE_DEV_PICKER", "1")
    probe.run()
    assert "actor=1; role=ADMIN" in shown(probe)  # nobody picked yet: the first active administrator
    probe.session_state[ACTOR_STATE_KEY] = 5
    probe.run()
    assert "actor=5; role=AGENT" in shown(probe)
    # the sidebar says who acts, as the run read them
    assert any(c.value.startswith("Сейчас: №5 · Агент") for c in probe.caption), [
        c.value for c in probe.caption
    ]
    # Without the app's gate in a run (a fragment, a page run directly), it is read afresh.
    probe.session_state["probe_gate"] = False
    probe.session_state[ACTOR_STATE_KEY] = 3
    probe.run()
    assert "actor=3; role=AGENT" in shown(probe)


def test_no_gate_no_actor(probe: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KONTUR_INSECURE_DEV_PICKER", "1")
    probe.session_state["probe_gate"] = False
    probe.run()
    assert "actor=None" in shown(probe)


AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "x" * 32,
    "client_id": "kontur-dashboard",
    "client_secret": "s",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}


def test_current_actor_is_the_signed_in_user_until_blocked(probe: AppTest, cache_path: Path) -> None:
    probe.secrets["auth"] = AUTH
    probe.user = {"is_logged_in": True, "email": "User3@Agency.test", "email_verified": True}
    probe.run()
    assert "actor=3; role=AGENT" in shown(probe)
    # Blocked in the store meanwhile, by another process (its own engine): the next read, without any
    # new sign-in, finds nobody.
    with Store.open(Settings(cache_path=cache_path).ops_database_url()) as other, other.write() as tx:
        tx.execute(sa.update(schema.users).where(schema.users.c.id == 3).values(status="blocked"))
    probe.session_state["probe_gate"] = False
    probe.run()
    assert "actor=None" in shown(probe)


def test_unverified_email_is_nobody(probe: AppTest) -> None:
    probe.secrets["auth"] = AUTH
    probe.user = {"is_logged_in": True, "email": "user3@agency.test"}  # no email_verified claim
    probe.session_state["probe_gate"] = False
    probe.run()
    assert "actor=None" in shown(probe)


def test_actor_from_row_and_user_agree() -> None:
    row = person(7, "HEAD_OF_AGENCY", A)
    from kontur.models import User

    by_row = Actor.from_row(row)
    by_user = Actor.from_user(User.model_validate(row), signed_in_as="boss@agency.test")
    assert (by_row.id, by_row.role, by_row.status, by_row.agency_id) == (7, "HEAD_OF_AGENCY", "active", A)
    assert (by_user.id, by_user.role, by_user.status, by_user.agency_id) == (7, "HEAD_OF_AGENCY", "active", A)
    assert by_user.name == "Тестов7 Иван <boss@agency.test>"
