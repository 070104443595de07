"""Availability page in AppTest: the premises list a page at a time, and one view at a time.

Every page of the list is checked against SQL written here on the same cache file (not the app's
queries): the rows of page n are the matching premises n·50−49 … n·50 by price, then id."""

from __future__ import annotations

import pandas as pd
from streamlit.testing.v1 import AppTest

from kontur.cache import Cache
from kontur.ui import tables
from tests.pages.helpers import NBSP, count, no_exceptions, texts

PAGE = 50
ORDER = "ORDER BY price, id"


def listing(at: AppTest) -> pd.DataFrame:
    found = [d.value for d in at.dataframe if "Цена, ₽" in d.value.columns]
    assert len(found) == 1, [list(d.value.columns) for d in at.dataframe]
    return found[0]


def shown_rows(at: AppTest) -> list[tuple[str, int, int]]:
    """(number, price, floor) of each row of the shown page, in order."""
    table = listing(at)
    return [
        (str(n), int(p), int(f)) for n, p, f in zip(table["№"], table["Цена, ₽"], table["Этаж"], strict=True)
    ]


def truth(db: Cache, where: str, params: list, limit: int, offset: int) -> list[tuple[str, int, int]]:
    cur = db.reader()
    try:
        rows = cur.execute(
            f"SELECT number, price, floor FROM premises WHERE ({where}) {ORDER} LIMIT ? OFFSET ?",  # noqa: S608 -- test's own constant text
            [*params, limit, offset],
        ).fetchall()
    finally:
        cur.close()
    return [(str(n), int(p), int(f)) for n, p, f in rows]


def pager(at: AppTest):
    found = at.get("pagination")
    assert len(found) == 1
    return found[0]


def turn_to(at: AppTest, page: int) -> None:
    pager(at).set_value(page)
    at.run()
    no_exceptions(at)


def caption(first: int, last: int, total: int) -> str:
    def n(v: int) -> str:
        return f"{v:,}".replace(",", NBSP)

    return f"Показаны {n(first)}–{n(last)} из {n(total)}"


def test_the_list_is_paged_in_the_order_of_the_cache(app: AppTest, db: Cache) -> None:
    total = count(db, "SELECT count(*) FROM premises")
    assert total > 2 * PAGE  # the test world has several pages
    pages = -(-total // PAGE)
    assert pager(app).proto.num_pages == pages

    first = shown_rows(app)
    assert first == truth(db, "TRUE", [], PAGE, 0)
    assert caption(1, PAGE, total) in texts(app)

    turn_to(app, 2)
    second = shown_rows(app)
    assert second == truth(db, "TRUE", [], PAGE, PAGE)
    # no overlap and no gap: the two pages are the first hundred, in order
    assert first + second == truth(db, "TRUE", [], 2 * PAGE, 0)
    assert caption(PAGE + 1, 2 * PAGE, total) in texts(app)

    turn_to(app, pages)
    last = shown_rows(app)
    remainder = total - (pages - 1) * PAGE
    assert len(last) == remainder
    assert last == truth(db, "TRUE", [], PAGE, (pages - 1) * PAGE)
    assert caption((pages - 1) * PAGE + 1, total, total) in texts(app)
    # the test world has fewer premises than the CSV's cap: the caption says the CSV holds them all
    assert total < tables.EXPORT_LIMIT
    assert f"в CSV — все {total:,}".replace(",", NBSP) in texts(app)


def test_a_filter_change_returns_to_the_first_page(app: AppTest, db: Cache) -> None:
    turn_to(app, 3)
    assert pager(app).value == 3
    app.multiselect(key="av_types").set_value(["apartment"]).run()
    no_exceptions(app)
    assert pager(app).value == 1
    apartments = count(db, "SELECT count(*) FROM premises WHERE type = 'apartment'")
    assert shown_rows(app) == truth(db, "type = ?", ["apartment"], PAGE, 0)
    assert caption(1, min(PAGE, apartments), apartments) in texts(app)


def test_the_card_is_of_the_picked_row_of_the_shown_page(app: AppTest, db: Cache) -> None:
    turn_to(app, 2)
    number, price, _ = truth(db, "TRUE", [], 1, PAGE + 2)[0]  # the third row of page 2
    app.session_state["av_table_2"] = {"selection": {"rows": [2], "columns": [], "cells": []}}
    app.run()
    no_exceptions(app)
    card = " ".join(m.value for m in app.markdown)
    assert f"№ {number} ·" in card
    assert f"{price:,}".replace(",", NBSP) + f"{NBSP}₽" in card


def test_one_view_at_a_time(app: AppTest, db: Cache) -> None:
    # «Разбивка» (the default): the breakdown by city, no chart at all, the other levels not read
    assert app.button_group(key="av_view").value == "breakdown"
    assert not app.get("plotly_chart")
    breakdowns = [d.value for d in app.dataframe if "Доля свободных" in d.value.columns]
    assert len(breakdowns) == 1
    cities = count(
        db, "SELECT count(DISTINCT pr.city_id) FROM premises p JOIN projects pr ON pr.id = p.project_id"
    )
    assert len(breakdowns[0]) == cities
    assert "Свободные помещения на карте" not in [h.value for h in app.subheader]

    app.button_group(key="av_view").set_value("map").run()
    no_exceptions(app)
    charts = app.get("plotly_chart")
    assert len(charts) == 1
    assert '"scattermap"' in charts[0].proto.spec
    assert "Свободные помещения на карте" in [h.value for h in app.subheader]
    assert not [d for d in app.dataframe if "Доля свободных" in d.value.columns]

    app.button_group(key="av_view").set_value("distributions").run()
    no_exceptions(app)
    charts = app.get("plotly_chart")
    assert len(charts) == 2
    assert all('"bar"' in c.proto.spec and "scattermap" not in c.proto.spec for c in charts)
    assert "Свободные помещения на карте" not in [h.value for h in app.subheader]
    # the list is there whatever the view
    assert shown_rows(app) == truth(db, "TRUE", [], PAGE, 0)
