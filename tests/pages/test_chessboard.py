"""Chessboard page in AppTest: one cell per premise, dimming follows the filters, booking hand-off."""

from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

from kontur.cache import Cache
from tests.pages.helpers import count, metric, no_exceptions, pick_scope


def board_html(at: AppTest) -> str:
    boards = [h.proto.body for h in at.get("html") if "<div class='kc-board'>" in h.proto.body]
    assert len(boards) == 1
    return boards[0]


def cell_ids(html: str, extra_class: str = "") -> list[int]:
    pattern = rf"<div class='kc-cell [^']*{extra_class}[^']*' data-premise-id='(\d+)'"
    return [int(m) for m in re.findall(pattern, html)]


def open_building(app: AppTest, db: Cache) -> int:
    building_id = count(db, "SELECT building_id FROM premises GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
    project_id = count(db, "SELECT project_id FROM buildings WHERE id = ?", [building_id])
    pick_scope(app, project=project_id, building=building_id)
    app.switch_page("pages/chessboard.py").run()
    no_exceptions(app)
    return building_id


def test_one_cell_per_premise_coloured_by_status(app: AppTest, db: Cache) -> None:
    building_id = open_building(app, db)
    html = board_html(app)
    expected = count(db, "SELECT count(*) FROM premises WHERE building_id = ?", [building_id])
    ids = cell_ids(html)
    assert len(ids) == expected == metric(app, "Помещений")
    assert len(set(ids)) == len(ids)
    sold = count(db, "SELECT count(*) FROM premises WHERE building_id = ? AND is_sold", [building_id])
    booked = count(
        db, "SELECT count(*) FROM premises WHERE building_id = ? AND is_booked AND NOT is_sold", [building_id]
    )
    assert len(cell_ids(html, "kc-sold")) == sold == metric(app, "Продано")
    assert len(cell_ids(html, "kc-booked")) == booked == metric(app, "Забронировано")
    assert len(cell_ids(html, "kc-free")) == expected - sold - booked == metric(app, "Свободно")
    # one column of sections per section of the building, side by side
    sections = count(
        db, "SELECT count(DISTINCT section_id) FROM premises WHERE building_id = ?", [building_id]
    )
    assert html.count("class='kc-section'") == sections
    assert not cell_ids(html, "kc-dim")  # no filter: nothing dimmed


def test_type_and_feature_filters_dim_non_matching_cells(app: AppTest, db: Cache) -> None:
    building_id = open_building(app, db)
    app.multiselect(key="cb_types").set_value(["apartment"]).run()
    no_exceptions(app)
    dimmed = count(
        db, "SELECT count(*) FROM premises WHERE building_id = ? AND type <> 'apartment'", [building_id]
    )
    assert dimmed > 0
    assert len(cell_ids(board_html(app), "kc-dim")) == dimmed

    feature = "sign_balcony"
    app.multiselect(key="cb_features").set_value([feature]).run()
    no_exceptions(app)
    dimmed = count(
        db,
        "SELECT count(*) FROM premises WHERE building_id = ? "
        "AND NOT (type = 'apartment' AND list_contains(feature, ?))",
        [building_id, feature],
    )
    assert len(cell_ids(board_html(app), "kc-dim")) == dimmed
    # the total does not change: dimmed cells stay on the board
    assert len(cell_ids(board_html(app))) == metric(app, "Помещений")


def test_booking_a_free_cell_preselects_it_on_the_booking_page(app: AppTest, db: Cache) -> None:
    building_id = open_building(app, db)
    free_id = count(
        db,
        "SELECT min(id) FROM premises WHERE building_id = ? AND NOT is_sold AND NOT is_booked",
        [building_id],
    )
    free = count(
        db,
        "SELECT count(*) FROM premises WHERE building_id = ? AND NOT is_sold AND NOT is_booked",
        [building_id],
    )
    choice = app.selectbox(key=f"cb_choice_{building_id}")
    assert len(choice.options) == free  # only free premises can be picked
    choice.set_value(free_id).run()
    no_exceptions(app)
    assert f"kc-selected' data-premise-id='{free_id}'" in board_html(app)
    app.button(key="cb_book").click().run()
    no_exceptions(app)
    # We are on the booking page (the forms' page), which took the premise over as its choice.
    assert not [b for b in app.button if b.key == "cb_book"]
    assert app.session_state["bk_premise"] == free_id
