"""Подборки in AppTest against the sandbox, the real sync and a real store file: an agent builds a
selection from three premises, the sandbox books one, the next sync marks it; another agency's
selections are neither listed nor reachable; roles without deals get no selections."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from kontur.auth.session import ACTOR_STATE_KEY
from kontur.sandbox.server import RunningSandbox, start_sandbox
from kontur.store import selections as store_sel
from kontur.store.db import Store
from tests.support import ops_store
from tests.support.features import SEED, fill, no_exceptions, page, point_app_at, texts


@pytest.fixture(scope="module")
def world() -> Iterator[RunningSandbox]:
    with start_sandbox(scale=0.01, seed=SEED + 1) as running:
        yield running


@pytest.fixture(scope="module")
def people(world: RunningSandbox) -> dict[str, dict]:
    """An agent and a colleague of one agency, an agent of another, a manager, a new member."""
    users = world.admin().users()
    agents = [u for u in users if u["role"] == "AGENT" and u["status"] == "active" and u["agency_id"]]
    a = agents[0]
    colleague = next(u for u in agents if u["agency_id"] == a["agency_id"] and u["id"] != a["id"])
    other = next(u for u in agents if u["agency_id"] != a["agency_id"])
    manager = next(u for u in users if u["role"] == "MANAGER" and u["status"] == "active")
    spare = next(u for u in agents if u["id"] not in (a["id"], colleague["id"], other["id"]))
    newbie = {**spare, "role": "NEW_MEMBER"}  # the small world may have none: one agent is demoted here
    return {"a": a, "colleague": colleague, "other": other, "manager": manager, "newbie": newbie}


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, world: RunningSandbox, people: dict, tmp_path: Path
) -> Iterator[tuple[Path, Store]]:
    cache_path = fill(world, tmp_path / "kontur.duckdb")
    directory = [people["newbie"] if u["id"] == people["newbie"]["id"] else u for u in world.admin().users()]
    url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    ops_store.seed_url(url, directory)
    point_app_at(monkeypatch, world, cache_path, url)
    st.cache_data.clear()
    store = Store.open(url)
    yield cache_path, store
    store.close()


def _as(user: dict) -> AppTest:
    at = page("pages/selections.py")
    at.session_state[ACTOR_STATE_KEY] = user["id"]
    at.run()
    no_exceptions(at)
    return at


def _table(at: AppTest):
    value = at.dataframe[0].value
    return value.data if hasattr(value, "data") else value  # a Styler hands its frame as `.data`


def _button(at: AppTest, label: str):
    found = [b for b in at.button if b.label == label]
    assert found, [b.label for b in at.button]
    return found[0]


def test_a_selection_marks_a_premise_the_sandbox_booked_after_it_was_added(
    world: RunningSandbox, people: dict, env: tuple[Path, Store]
) -> None:
    cache_path, store = env
    admin = world.admin()
    free = [
        p
        for p in admin.records("premises")
        if p["type"] == "apartment" and not p["is_booked"] and not p["is_sold"]
    ]
    chosen = free[:3]
    at = _as(people["a"])
    at.text_input(key="selection_new_name").input("Для Ивановых")
    at.text_input(key="selection_new_client").input("Иванов Иван Иванович")
    _button(at, "Создать подборку").click().run()
    no_exceptions(at)
    made = at.session_state["selection_current_id"]
    at.text_input(key=f"add_ids_{made}").input(", ".join(str(p["id"]) for p in chosen))
    _button(at, "Добавить").click().run()
    no_exceptions(at)
    with store.read() as tx:
        saved = store_sel.get_selection(tx, made, agent_ids=None)
    assert saved is not None
    assert saved.owner_id == people["a"]["id"]
    assert [(i.premise_id, i.price_at_add, i.status_at_add) for i in saved.items] == [
        (p["id"], p["price"], "free") for p in chosen
    ]
    assert [m.value for m in at.metric if m.label == "Помещений"] == ["3"]
    table = _table(at)
    assert list(table["ID"]) == [p["id"] for p in chosen]
    assert set(table["Изменение"]) == {"Без изменений"}
    # The PDF and XLSX buttons download without rerunning the page (a rerun races its own file).
    downloads = {b.proto.label: b.proto for b in at.get("download_button")}
    assert set(downloads) == {"Скачать PDF", "Скачать XLSX"}
    assert all(b.ignore_rerun for b in downloads.values())
    assert downloads["Скачать PDF"].deferred_file_id  # the PDF is made on click, not on every run

    booked = chosen[1]
    admin.patch_record("premises", booked["id"], is_booked=True)
    fill(world, cache_path)  # the next (incremental) sync
    st.cache_data.clear()
    at.run()
    no_exceptions(at)
    table = _table(at)
    marks = dict(zip(table["ID"], table["Изменение"], strict=True))
    assert marks == {
        chosen[0]["id"]: "Без изменений",
        booked["id"]: "Забронировано после добавления",
        chosen[2]["id"]: "Без изменений",
    }
    assert dict(zip(table["ID"], table["Статус"], strict=True))[booked["id"]] == "Забронировано"
    assert any("изменилось помещений: 1" in w.value for w in at.warning)
    assert [m.value for m in at.metric if m.label == "Свободно сейчас"] == ["2"]


def test_another_agencys_selections_are_not_listed_and_a_manager_sees_all(
    people: dict, env: tuple[Path, Store]
) -> None:
    _, store = env
    with store.write() as tx:
        ours = store_sel.create_selection(
            tx, name="Наша", owner_id=people["colleague"]["id"], agency_id=people["a"]["agency_id"]
        )
        theirs = store_sel.create_selection(
            tx, name="Чужая", owner_id=people["other"]["id"], agency_id=people["other"]["agency_id"]
        )
    at = _as(people["a"])
    listed = at.radio(key="selection_current_id").options
    assert any("Наша" in o for o in listed)
    assert not any("Чужая" in o for o in listed)
    assert "Чужая" not in texts(at)
    manager = _as(people["manager"])
    both = manager.radio(key="selection_current_id").options
    assert any("Наша" in o for o in both)
    assert any("Чужая" in o for o in both)
    assert ours.id != theirs.id


def test_a_new_member_gets_no_selections(people: dict, env: tuple[Path, Store]) -> None:
    at = _as(people["newbie"])
    assert "Подборки ведут те, кто работает со сделками" in texts(at)
    assert not at.radio


def test_a_bad_name_is_refused_and_the_typed_text_stays(people: dict, env: tuple[Path, Store]) -> None:
    _, store = env
    at = _as(people["a"])
    at.text_input(key="selection_new_client").input("Петрова Анна")
    _button(at, "Создать подборку").click().run()
    no_exceptions(at)
    assert any("название не может быть пустым" in e.value for e in at.error)
    assert at.text_input(key="selection_new_client").value == "Петрова Анна"
    with store.read() as tx:
        assert store_sel.list_selections(tx, agent_ids=None) == []
