"""The analytics pages on a cache holding hand-made hostile and edge records (tests/pages/records.py,
loaded through the real load path): nothing crashes, partner text stays text, refused URLs show
nothing, and the records the contract allows come out right (empty photo list, negative floor, a
price over 2³¹, a studio, a building without premises, a project without buildings, leads of an agent
absent from the users directory)."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from kontur.cache import Cache
from kontur.queries import PremiseFilters, availability, chessboard
from kontur.queries.filters import Filters
from kontur.sandbox.server import RunningSandbox
from kontur.ui import tables
from kontur.ui.chessboard import render
from tests.pages import records
from tests.pages.helpers import (
    APP,
    act_as,
    configure,
    fill_cache,
    no_exceptions,
    pick_scope,
    texts,
    user_with,
)

FORMULA_START = ("=", "+", "-", "@")


class Tags(HTMLParser):
    """Which elements and attributes an HTML fragment really holds, as a browser would parse it."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.names_count: Counter[str] = Counter()
        self.attributes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.names.add(tag)
        self.names_count[tag] += 1
        self.attributes |= {name for name, _ in attrs}


@pytest.fixture(scope="module")
def world(sandbox: RunningSandbox, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, records.World]:
    path = tmp_path_factory.mktemp("edge-cache") / "kontur.duckdb"
    fill_cache(sandbox, path)
    agent = user_with(sandbox, "AGENT")
    w = records.hostile_and_edge_world([agent["id"]])
    records.load(path, w)
    return path, w


@pytest.fixture
def at(monkeypatch: pytest.MonkeyPatch, sandbox: RunningSandbox, world) -> AppTest:
    configure(monkeypatch, sandbox, world[0])
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    no_exceptions(app)
    app.switch_page("pages/availability.py").run()
    no_exceptions(app)
    return app


@pytest.fixture
def cur(world) -> Iterator:
    with Cache(world[0]) as cache:
        c = cache.reader()
        try:
            yield c
        finally:
            c.close()


def listing_table(at: AppTest):
    return next(d.value for d in at.dataframe if "Планировка" in d.value.columns)


def test_availability_of_the_edge_project(at: AppTest, world, sandbox: RunningSandbox) -> None:
    _, w = world
    pick_scope(at, city=w.ids["city"], project=w.ids["project"])
    no_exceptions(at)
    table = listing_table(at)
    by_number = {n: row for n, row in zip(table["№"], table.itertuples(index=False), strict=True)}
    assert len(table) == 8
    # the empty photo list, a javascript: photo and a foreign http host: no picture at all
    assert pd.isna(by_number["1"].Планировка)
    assert pd.isna(by_number[records.FORMULA + records.IMG].Планировка)
    assert pd.isna(by_number["8"].Планировка)
    # the first of three photos, resolved against the API host (the sandbox's /media/)
    assert by_number["2"].Планировка == sandbox.root_url + "/media/premises/1.svg"
    # the project's javascript: link is no link
    assert table["Ссылка"].isna().all()
    # a price over 2³¹ and a negative floor, as numbers
    assert 5_000_000_000 in set(table["Цена, ₽"])
    assert -2 in set(table["Этаж"])
    assert by_number["6"].Комнат == "Студия"
    assert by_number["3"].Особенности == ""
    # partner text is shown as typed, never as markup
    assert any(records.IFRAME in c for c in table["Город"])
    # the map and the distributions are views of their own: each drawn, none with markup in it
    drawn = 0
    for view in ("map", "distributions"):
        at.button_group(key="av_view").set_value(view).run()
        no_exceptions(at)
        for chart in at.get("plotly_chart"):
            drawn += 1
            assert "<iframe" not in chart.proto.spec
            assert "<script" not in chart.proto.spec
    assert drawn == 3


def test_no_interpolated_markup_on_the_availability_page(at: AppTest, world) -> None:
    """Every markdown element of the page (KPI cards, captions, the premise card) holds the hostile
    strings only escaped: no raw tag and no markdown link survives."""
    _, w = world
    pick_scope(at, city=w.ids["city"], project=w.ids["project"])
    table = listing_table(at)
    row = list(table["№"]).index(records.FORMULA + records.IMG)
    at.session_state["av_table"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    no_exceptions(at)
    card = "\n".join(str(m.value) for m in at.markdown)
    # the premise's number and the city's name, every special character escaped
    assert "№ \\=HYPERLINK\\(" in card
    assert "Город \\<iframe srcdoc\\=" in card
    # no tag and no markdown link or image survives unescaped
    assert not re.search(r"(?<!\\)<", card)
    assert not re.search(r"(?<!\\)\]\(", card)
    for m in at.markdown:
        assert not m.proto.allow_html, m.value
    assert not at.get("link_button")  # the project's javascript: link is not offered


@pytest.mark.parametrize(
    "name", ["empty_photos", "three_photos", "negative_floor", "huge_price", "empty_lists"]
)
def test_the_premise_card_of_each_edge_premise(at: AppTest, world, name: str) -> None:
    _, w = world
    pick_scope(at, city=w.ids["city"], project=w.ids["project"])
    table = listing_table(at)
    number = str(w.ids[name] - 900000)
    at.session_state["av_table"] = {
        "selection": {"rows": [list(table["№"]).index(number)], "columns": [], "cells": []}
    }
    at.run()
    no_exceptions(at)
    card = texts(at)
    assert f"№ {number} ·" in card
    if name == "empty_photos":
        assert "Фотографий нет." in card
    if name == "three_photos":
        shown = [(i.proto.imgs[0].url, i.proto.imgs[0].caption) for i in at.get("image")]
        assert [c for u, c in shown if "/media/premises/" in u] == ["Планировка", "План этажа", "Вид"]
    if name == "huge_price":
        assert "5\u202f000\u202f000\u202f000\u202f₽" in card
    if name == "negative_floor":
        assert "· \\-2 эт\\. ·" in card  # the header, through md()


def test_the_csv_of_the_availability_table_runs_nothing(cur, world) -> None:
    _, w = world
    listing = availability.premises_list(cur, PremiseFilters(scope=Filters(project_id=w.ids["project"])))
    text = tables.csv_bytes(tables.premises(listing)).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 9  # the header and eight premises
    cells = [c for r in rows for c in r]
    assert "'" + records.FORMULA + records.IMG in cells  # the premise's number, neutralised
    for c in cells:
        if c.startswith(FORMULA_START):
            float(c)  # only a plain number (a negative floor) may start so


def test_the_chessboard_of_the_edge_building(at: AppTest, world, cur) -> None:
    _, w = world
    pick_scope(at, city=w.ids["city"], project=w.ids["project"], building=w.ids["building"])
    at.switch_page("pages/chessboard.py").run()
    no_exceptions(at)
    html = "".join(h.proto.body for h in at.get("html"))
    tags = Tags()
    tags.feed(html)
    # only the board's own elements and attributes: no tag, attribute or URL came from the data
    assert tags.names <= {"style", "div", "b", "span", "i"}
    own = {"class", "data-premise-id", "data-status", "data-in-selection", "title", "style"}
    assert tags.attributes <= own
    assert tags.names_count["div"] >= 8
    assert html.count("data-premise-id=") == 8
    assert "&lt;iframe" in html  # the section's name, escaped
    # the one-floor section, the parking space on floor -2
    board = render(
        chessboard.sections(cur, w.ids["building"]),
        chessboard.cells(cur, w.ids["building"], PremiseFilters()),
    )
    assert "<div class='kc-floor'>-2</div>" in board


def test_a_building_without_premises_and_a_project_without_buildings(at: AppTest, world) -> None:
    _, w = world
    pick_scope(at, city=w.ids["city"], project=w.ids["project"], building=w.ids["empty_building"])
    no_exceptions(at)
    assert "Нет помещений, подходящих под выбранные фильтры" in texts(at)
    at.switch_page("pages/chessboard.py").run()
    no_exceptions(at)
    assert "В этом здании нет помещений." in texts(at)

    at.session_state["scope_building_id"] = None
    pick_scope(at, project=w.ids["empty_project"])
    no_exceptions(at)
    assert "Нет зданий, подходящих под выбранные фильтры" in texts(at)
    at.switch_page("pages/availability.py").run()
    no_exceptions(at)
    assert "Нет помещений, подходящих под выбранные фильтры" in texts(at)


def test_leads_of_an_agent_absent_from_the_directory(at: AppTest, world, sandbox: RunningSandbox) -> None:
    _, w = world
    act_as(at, user_with(sandbox, "MANAGER")["id"])
    pick_scope(at, city=w.ids["city"], project=w.ids["project"])
    at.switch_page("pages/leads.py").run()
    no_exceptions(at)
    assert not [d for d in at.dataframe if "Выиграно" in d.value.columns]  # one section at a time
    at.button_group(key="ld_section").set_value("board").run()
    no_exceptions(at)
    board = next(d.value for d in at.dataframe if "Выиграно" in d.value.columns)
    assert f"Агент #{w.ids['absent_agent']}" in set(board["Агент"])
    # an agent reads their agency's leads: the absent agent's lead is nobody's agency's
    act_as(at, user_with(sandbox, "AGENT")["id"])
    at.run()
    no_exceptions(at)
    board = next(d.value for d in at.dataframe if "Выиграно" in d.value.columns)
    assert f"Агент #{w.ids['absent_agent']}" not in set(board["Агент"])


@pytest.mark.parametrize(
    ("name", "pictures"),
    [("empty_photos", 0), ("hostile_number", 0), ("foreign_photo", 0), ("three_photos", 3)],
)
def test_a_link_opens_the_premise_card(
    monkeypatch: pytest.MonkeyPatch, sandbox: RunningSandbox, world, name: str, pictures: int
) -> None:
    """`/?premise=ID` (the landing page passes it on to Наличие) opens that premise's card whatever
    the scope and filters. A picture is shown only for a URL `safe_url` accepts (the three-photo
    premise's pictures, each captioned by what it is), never the project's javascript: facade."""
    path, w = world
    configure(monkeypatch, sandbox, path)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["premise"] = str(w.ids[name])
    at.run()
    no_exceptions(at)
    shown = texts(at)
    number = "\\=HYPERLINK\\(" if name == "hostile_number" else f"{w.ids[name] - 900000} ·"
    assert f"#### № {number}" in shown
    assert "**Адрес:** Город \\<iframe" in shown
    images = at.get("image")
    assert len(images) == pictures
    if pictures:
        assert [(i.proto.imgs[0].url, i.proto.imgs[0].caption) for i in images] == [
            (f"{sandbox.root_url}/media/premises/{n}.svg", caption)
            for n, caption in zip((1, 2, 3), ("Планировка", "План этажа", "Вид"), strict=True)
        ]
    elif name == "empty_photos":
        assert "Фотографий нет." in shown
    else:  # a picture the policy refuses: none shown, and the card says one was left out
        assert "Не показано фото: 1 — адрес не прошёл проверку безопасности." in shown


def test_a_link_to_a_premise_the_cache_does_not_hold(at: AppTest) -> None:
    at.query_params["premise"] = "987654321"
    at.run()
    no_exceptions(at)
    assert "Помещения № 987654321 нет в кэше." in texts(at)
