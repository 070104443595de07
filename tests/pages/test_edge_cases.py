"""The analytics pages on the sandbox's `--edge-cases` records (`SandboxAdmin.edge_cases()` names
them), synced the real way: every edge premise's card opens, the building holding them draws its
chessboard, the building without premises, the project without buildings and the lead of an agent
absent from the directory are shown for what they are, never as a crash."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from kontur.cache import Cache
from kontur.sandbox.server import RunningSandbox
from tests.pages.helpers import act_as, count, no_exceptions, pick_scope, texts, user_with

PREMISES = (
    "empty_photos_premise",
    "three_photos_premise",
    "empty_features_premise",
    "empty_purchase_premise",
    "zero_rooms_premise",
    "huge_price_premise",
    "zero_size_premise",
    "negative_floor_premise",
)


@pytest.fixture(scope="module")
def edge(sandbox: RunningSandbox) -> dict[str, int]:
    return sandbox.admin().edge_cases()


def premise(sandbox: RunningSandbox, premise_id: int) -> dict:
    return next(p for p in sandbox.admin().records("premises") if p["id"] == premise_id)


@pytest.mark.parametrize("name", PREMISES)
def test_every_edge_premise_card_opens(app: AppTest, sandbox: RunningSandbox, edge: dict, name: str) -> None:
    record = premise(sandbox, edge[name])
    app.query_params["premise"] = str(record["id"])
    app.run()
    no_exceptions(app)
    shown = texts(app)
    number = re.sub(r"([.\-])", r"\\\1", record["number"])  # as markdown carries it: «Н2\.1»
    assert f"#### № {number} ·" in shown
    pictures = [(i.proto.imgs[0].url, i.proto.imgs[0].caption) for i in app.get("image")]
    gallery = [(u, c) for u, c in pictures if "/media/premises/" in u]
    # every photo, in order, each captioned by what it is (plan, floor plan, view), not all «Планировка»
    expected = ["Планировка", "План этажа", "Вид"][: len(record["photos"])]
    assert gallery == [(sandbox.root_url + u, c) for u, c in zip(record["photos"], expected, strict=True)]
    if not record["photos"]:
        assert "Фотографий нет." in shown
    if name == "zero_size_premise":
        assert "**за м²:** —" in shown  # no price per m² of nothing, not «inf»
    if name == "huge_price_premise":
        assert "4\u202f800\u202f000\u202f000\u202f₽" in shown
    if name == "negative_floor_premise":
        assert "· \\-3 эт\\. ·" in shown


def test_the_edge_building_on_the_chessboard_and_in_the_list(
    app: AppTest, sandbox: RunningSandbox, edge: dict, db: Cache
) -> None:
    building = edge["totals_mismatch_building"]
    pick_scope(app, project=edge["edge_project"], building=building)
    listing = next(d.value for d in app.dataframe if "Планировка" in d.value.columns)
    assert len(listing) == count(db, "SELECT count(*) FROM premises WHERE building_id = ?", [building])
    zero = listing[listing["№"] == premise(sandbox, edge["zero_size_premise"])["number"]]
    assert zero["Цена за м², ₽"].isna().all()
    assert -3 in set(listing["Этаж"])
    app.switch_page("pages/chessboard.py").run()
    no_exceptions(app)
    board = "".join(h.proto.body for h in app.get("html"))
    for name in PREMISES:
        assert f"data-premise-id='{edge[name]}'" in board
    assert "<div class='kc-floor'>-3</div>" in board


def test_a_one_floor_section(app: AppTest, sandbox: RunningSandbox, edge: dict) -> None:
    section = next(s for s in sandbox.admin().records("sections") if s["id"] == edge["single_floor_section"])
    pick_scope(app, building=section["building_id"])
    app.switch_page("pages/chessboard.py").run()
    no_exceptions(app)
    assert "kc-board" in "".join(h.proto.body for h in app.get("html"))


def test_a_building_without_premises_and_a_project_without_buildings(app: AppTest, edge: dict) -> None:
    pick_scope(app, project=edge["edge_project"], building=edge["empty_building"])
    assert "Нет помещений, подходящих под выбранные фильтры" in texts(app)
    app.switch_page("pages/chessboard.py").run()
    no_exceptions(app)
    assert "В этом здании нет помещений." in texts(app)
    app.session_state["scope_building_id"] = None
    pick_scope(app, project=edge["empty_project"])
    assert "Нет зданий, подходящих под выбранные фильтры" in texts(app)


def test_the_lead_of_an_agent_absent_from_the_directory(
    app: AppTest, sandbox: RunningSandbox, edge: dict
) -> None:
    lead = next(x for x in sandbox.admin().records("leads") if x["id"] == edge["lead_of_unknown_agent"])
    act_as(app, user_with(sandbox, "MANAGER")["id"])
    pick_scope(app, project=lead["project_id"])
    app.switch_page("pages/leads.py").run()
    no_exceptions(app)
    app.text_input(key="ld_agents_search").set_value(str(edge["unknown_agent"])).run()
    no_exceptions(app)
    options = app.multiselect(key="ld_agents").options
    assert [o.rsplit(" (", 1)[0] for o in options] == [f"Агент #{edge['unknown_agent']}"]
