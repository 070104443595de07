"""«Сегодня» per role, in AppTest against the sandbox and a real store file: clients with expiring
fixings (seeded in the sandbox with `create_client`, found through Kontur's search and kept in the
store), today's and tomorrow's showings and open bookings made through the real API, and the premises
of one's selections the sandbox booked since one last looked."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from kontur.auth.session import ACTOR_STATE_KEY
from kontur.client import BrusnikaClient
from kontur.models import BookingCreate, VisitCreate
from kontur.sandbox.server import RunningSandbox, start_sandbox
from kontur.store import bookings as store_bookings
from kontur.store import selections as store_sel
from kontur.store import visits as store_visits
from kontur.store.db import Store
from tests.support import ops_store
from tests.support.features import SEED, fill, found_through_kontur, no_exceptions, page, point_app_at, texts

PHONES = itertools.count(79_010_000_001)  # +7 and ten digits


@pytest.fixture(scope="module")
def world() -> Iterator[RunningSandbox]:
    with start_sandbox(scale=0.01, seed=SEED + 2) as running:
        yield running


@pytest.fixture(scope="module")
def people(world: RunningSandbox) -> dict[str, dict]:
    users = world.admin().users()
    agents = [
        u
        for u in users
        if u["role"] == "AGENT" and u["status"] == "active" and u["agency_id"]
        and u["remaining_user_creation_limit"] > 0
    ]  # fmt: skip
    a = agents[0]
    colleague = next(u for u in agents if u["agency_id"] == a["agency_id"] and u["id"] != a["id"])
    other = next(u for u in agents if u["agency_id"] != a["agency_id"])
    manager = next(u for u in users if u["role"] == "MANAGER" and u["status"] == "active")
    return {"a": a, "colleague": colleague, "other": other, "manager": manager}


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, world: RunningSandbox, tmp_path: Path
) -> Iterator[tuple[Path, Store]]:
    cache_path = fill(world, tmp_path / "kontur.duckdb")
    url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    ops_store.seed_url(url, world.admin().users())  # someone to act as, in the store the app opens
    point_app_at(monkeypatch, world, cache_path, url)
    st.cache_data.clear()
    store = Store.open(url)
    yield cache_path, store
    store.close()


def _client(
    world: RunningSandbox,
    store: Store,
    agent: dict,
    name: str,
    *,
    days: float,
    fixing: str = "сильное закрепление",
) -> dict:
    phone = f"+{next(PHONES)}"
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    world.admin().create_client(
        agent_id=agent["id"],
        fixing_type=fixing,
        expiration_date=expires.isoformat(),
        fullname=name,
        phone_number=phone,
    )
    return found_through_kontur(world, store, phone, recorded_by=agent["id"]).model_dump()


def _as(user: dict) -> AppTest:
    at = page("pages/today.py")
    at.session_state[ACTOR_STATE_KEY] = user["id"]
    at.run()
    no_exceptions(at)
    return at


def _table_texts(at: AppTest) -> str:
    return "\n".join(d.value.to_csv() for d in at.dataframe)


def test_expiring_fixings_per_role(world: RunningSandbox, people: dict, env: tuple[Path, Store]) -> None:
    _, store = env
    _client(world, store, people["a"], "Срочнова Анна", days=2.5)
    _client(world, store, people["colleague"], "Коллегина Вера", days=5.2)
    _client(world, store, people["other"], "Чужакова Ольга", days=1.5)
    _client(world, store, people["a"], "Нескоро Пётр", days=30)
    _client(world, store, people["a"], "Отказов Иван", days=3, fixing="отказ в закреплении")

    agent = _table_texts(_as(people["a"]))
    assert "Срочнова Анна" in agent
    assert "Коллегина Вера" in agent  # the same agency's client
    assert "Чужакова Ольга" not in agent  # another agency's
    assert "Нескоро Пётр" not in agent  # outside the seven days
    assert "Отказов Иван" not in agent  # a refused fixing runs out of nothing
    assert "2 дн." in agent  # the countdown of the 2.5-day fixing

    other = _table_texts(_as(people["other"]))
    assert "Чужакова Ольга" in other
    assert "Срочнова Анна" not in other
    assert "1 дн." in other

    manager = _table_texts(_as(people["manager"]))
    for name in ("Срочнова Анна", "Коллегина Вера", "Чужакова Ольга"):
        assert name in manager
    assert "Закрепление истекает в ближайшие 7 дн. · 3" in texts(_as(people["manager"]))


def test_showings_and_open_bookings_made_through_kontur(
    world: RunningSandbox, people: dict, env: tuple[Path, Store]
) -> None:
    _, store = env
    a, other = people["a"], people["other"]
    client_a = _client(world, store, a, "Показова Анна", days=20)
    client_b = _client(world, store, other, "Другова Нина", days=20)
    project = world.admin().records("projects")[0]
    free = next(p for p in world.admin().records("premises") if not p["is_booked"] and not p["is_sold"])
    today = dt.datetime.now(dt.UTC).date()
    with BrusnikaClient(base_url=world.api_url, token=world.token) as api:
        visits = [
            api.create_visit(
                VisitCreate(
                    project_id=project["id"],
                    agent_id=a["id"],
                    client_id=client_a["id"],
                    date=today,
                    time="11:30",
                )
            ),
            api.create_visit(
                VisitCreate(
                    project_id=project["id"],
                    agent_id=a["id"],
                    client_id=client_a["id"],
                    date=today + dt.timedelta(days=1),
                    time="09:00",
                )
            ),
            api.create_visit(
                VisitCreate(
                    project_id=project["id"],
                    agent_id=a["id"],
                    client_id=client_a["id"],
                    date=today + dt.timedelta(days=3),
                    time="10:00",
                )
            ),
            api.create_visit(
                VisitCreate(
                    project_id=project["id"],
                    agent_id=other["id"],
                    client_id=client_b["id"],
                    date=today,
                    time="15:00",
                )
            ),
        ]
        booking = api.create_booking(
            BookingCreate(
                premise_id=free["id"],
                client_id=client_a["id"],
                agent_id=a["id"],
                date=today,
                time="12:00",
                purchase_option="mortage",
            )
        )
    with store.write() as tx:
        store_visits.save_visits(tx, visits, recorded_by=a["id"])
        store_bookings.booking_created(tx, booking, recorded_by=a["id"])
    at = _as(a)
    showings = [d.value for d in at.dataframe if "Когда" in d.value.columns]
    assert len(showings) == 1
    assert list(showings[0]["Когда"]) == ["Сегодня 11:30", "Завтра 09:00"]
    assert list(showings[0]["Показ"]) == [visits[0].id, visits[1].id]
    bookings = [d.value for d in at.dataframe if "Бронь" in d.value.columns]
    assert list(bookings[0]["Бронь"]) == [booking.id]
    assert list(bookings[0]["Помещение"]) == [free["number"]]
    theirs = _as(other)
    showings = [d.value for d in theirs.dataframe if "Когда" in d.value.columns]
    assert list(showings[0]["Показ"]) == [visits[3].id]
    assert not [d for d in theirs.dataframe if "Бронь" in d.value.columns]


def test_selection_changes_since_last_looked(
    world: RunningSandbox, people: dict, env: tuple[Path, Store]
) -> None:
    cache_path, store = env
    admin = world.admin()
    a = people["a"]
    watched = [p for p in admin.records("premises") if not p["is_booked"] and not p["is_sold"]][5:7]
    with store.write() as tx:
        made = store_sel.create_selection(tx, name="Наблюдаю", owner_id=a["id"], agency_id=a["agency_id"])
        for p in watched:
            store_sel.add_premise(
                tx,
                made.id,
                premise_id=p["id"],
                price=p["price"],
                status="free",
                added_by=a["id"],
                agent_ids=None,
            )
    at = _as(a)
    assert "Изменения в ваших подборках с момента добавления · 0" in texts(at)

    admin.patch_record("premises", watched[0]["id"], is_booked=True)
    fill(world, cache_path)
    st.cache_data.clear()
    at = _as(a)
    assert "Изменения в ваших подборках с момента добавления · 1" in texts(at)
    changes = next(d.value for d in at.dataframe if "Стало" in d.value.columns)
    assert list(changes["Стало"]) == ["Забронировано после добавления"]
    assert list(changes["Помещение"]) == [watched[0]["number"]]
    # another agency's agent does not see this person's selection changes
    assert "Изменения в ваших подборках с момента добавления · 0" in texts(_as(people["other"]))

    [seen] = [b for b in at.button if b.label == "Отметить просмотренным"]
    seen.click().run()
    no_exceptions(at)
    with store.read() as tx:
        assert store_sel.get_mark(tx, a["id"], store_sel.TODAY_LOOKED) is not None
    at = _as(a)
    assert "· 0" in next(line for line in texts(at).splitlines() if line.startswith("#### Изменения"))

    admin.patch_record("premises", watched[0]["id"], is_booked=False)
    fill(world, cache_path)
    st.cache_data.clear()
    at = _as(a)
    changes = next(d.value for d in at.dataframe if "Стало" in d.value.columns)
    assert list(changes["Стало"]) == ["Снова свободно"]
