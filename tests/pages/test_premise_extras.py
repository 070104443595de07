"""The pieces the availability card and the chessboard cell will call (next round), in AppTest on the
edge-case sandbox: every photo of a premise (three for the three-photo premise, none shown for a
refused URL), the mortgage estimate where `mortage` is allowed, and «Добавить в подборку»."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from kontur.auth.session import ACTOR_STATE_KEY
from kontur.mortgage import estimate
from kontur.sandbox.server import RunningSandbox, start_sandbox
from kontur.store import selections as store_sel
from kontur.store.db import Store
from tests.support import ops_store
from tests.support.features import SEED, fill, no_exceptions, point_app_at


def _gallery() -> None:
    import streamlit as st

    from kontur.ui.gallery import photo_gallery

    st.session_state["shown"] = photo_gallery(st.session_state["photos"])


def _mortgage() -> None:
    import streamlit as st

    from kontur.ui.mortgage_view import mortgage_estimate

    mortgage_estimate(st.session_state["price"], st.session_state["options"], key="m")


def _add() -> None:
    import streamlit as st

    from kontur.ui.selection_view import add_to_selection
    from tests.support.features import gate

    gate()
    add_to_selection(st.session_state["premise_id"], key="card")


@pytest.fixture(scope="module")
def world() -> Iterator[RunningSandbox]:
    with start_sandbox(scale=0.01, seed=SEED + 6, extra_args=("--edge-cases",)) as running:
        yield running


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, world: RunningSandbox, tmp_path: Path) -> Iterator[Store]:
    cache_path = fill(world, tmp_path / "kontur.duckdb")
    url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    ops_store.seed_url(url, world.admin().users())  # someone to act as, in the store the app opens
    point_app_at(monkeypatch, world, cache_path, url)
    st.cache_data.clear()
    with Store.open(url) as store:
        yield store


def _run(fn, **state: object) -> AppTest:
    at = AppTest.from_function(fn, default_timeout=90)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    no_exceptions(at)
    return at


def test_every_photo_is_shown_and_a_refused_url_is_counted(world: RunningSandbox, env: Store) -> None:
    admin = world.admin()
    three = admin.record("premises", admin.edge_cases()["three_photos_premise"])["photos"]
    assert len(three) == 3
    at = _run(_gallery, photos=three)
    assert at.session_state["shown"] == 3
    images = [img.proto.imgs[0] for img in at.get("image")]
    assert [i.caption for i in images] == ["Планировка", "План этажа", "Вид"]  # what each one is
    assert all(i.url.startswith(world.root_url + "/media/") for i in images)  # resolved on the API host
    hostile = [three[0], "javascript:alert(1)", "https://evil.example@127.0.0.1/x.svg"]
    at = _run(_gallery, photos=hostile)
    assert at.session_state["shown"] == 1
    assert any("Не показано фото: 2" in c.value for c in at.caption)
    at = _run(_gallery, photos=[])
    assert at.session_state["shown"] == 0


def test_mortgage_estimate_follows_the_inputs(env: Store) -> None:
    at = _run(_mortgage, price=6_250_000, options=["mortage", "full_payment"])
    # the first preset (family, 20 % down, 6 %, 30 years) fills the inputs
    assert at.number_input(key="m_down").value == 1_250_000
    expected = estimate(6_250_000, down_payment=1_250_000, rate=6.0, term_years=30)
    shown = {m.label: m.value for m in at.metric}
    assert (
        shown["Платёж в месяц"].replace("\u202f", " ")
        == f"{expected.monthly_payment:,.2f}".replace(",", " ").replace(".", ",") + " ₽"
    )
    at.number_input(key="m_rate").set_value(12.5).run()
    changed = estimate(6_250_000, down_payment=1_250_000, rate=Decimal("12.5"), term_years=30)
    shown = {m.label: m.value for m in at.metric}
    assert (
        shown["Переплата"].replace("\u202f", " ")
        == f"{round(changed.overpayment):,}".replace(",", " ") + " ₽"
    )
    at.number_input(key="m_down").set_value(6_250_000).run()
    assert any("покрывает всю цену" in e.value for e in at.error)
    at = _run(_mortgage, price=900_000, options=["installment", "full_payment"])
    assert not at.metric
    assert any("не предлагается" in c.value for c in at.caption)


def test_add_to_selection_from_a_card(world: RunningSandbox, env: Store) -> None:
    admin = world.admin()
    agent = next(
        u for u in admin.users() if u["role"] == "AGENT" and u["status"] == "active" and u["agency_id"]
    )
    premise = next(p for p in admin.records("premises") if not p["is_booked"] and not p["is_sold"])
    at = _run(_add, premise_id=premise["id"], **{ACTOR_STATE_KEY: agent["id"]})
    at.text_input(key="card_name").input("С карточки")
    next(b for b in at.button if b.label == "Добавить в подборку").click().run()
    no_exceptions(at)
    assert any("добавлено в подборку" in s.value for s in at.success)
    with env.read() as tx:
        [made] = store_sel.list_selections(tx, agent_ids=None)
        got = store_sel.get_selection(tx, made.id, agent_ids=None)
    assert got is not None
    assert (got.name, got.owner_id) == ("С карточки", agent["id"])
    assert [(i.premise_id, i.price_at_add, i.status_at_add) for i in got.items] == [
        (premise["id"], premise["price"], "free")
    ]
