"""Availability page in AppTest: every filter changes the KPI numbers, and they equal independent SQL."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from kontur.cache import Cache
from kontur.labels import PREMISE_TYPE_PLURAL
from kontur.models import PremiseType
from kontur.sandbox.server import RunningSandbox
from tests.pages.helpers import (
    APP,
    NBSP,
    act_as,
    configure,
    count,
    metric,
    no_exceptions,
    pick_scope,
    texts,
    user_with,
)

FREE = "NOT is_sold AND NOT is_booked"
BOOKED = "is_booked AND NOT is_sold"
SOLD = "is_sold"


def kpis(at: AppTest) -> dict[str, int]:
    return {
        "total": metric(at, "Всего помещений"),
        "free": metric(at, "Свободно"),
        "booked": metric(at, "Забронировано"),
        "sold": metric(at, "Продано"),
    }


def truth(db: Cache, where: str, params: list) -> dict[str, int]:
    """Counts by status over premises matching `where` — SQL independent of kontur.queries."""
    base = f"SELECT count(*) FROM premises WHERE ({where})"  # noqa: S608 -- test's own constant text
    return {
        "total": count(db, base, params),
        "free": count(db, f"{base} AND {FREE}", params),
        "booked": count(db, f"{base} AND {BOOKED}", params),
        "sold": count(db, f"{base} AND {SOLD}", params),
    }


def slider(at: AppTest, label: str):
    found = [s for s in at.slider if s.label == label]
    assert found, [s.label for s in at.slider]
    return found[0]


def test_renders_and_matches_the_cache(app: AppTest, db: Cache) -> None:
    no_exceptions(app)
    assert kpis(app) == truth(db, "TRUE", [])
    assert kpis(app)["total"] > 0
    assert not app.get("plotly_chart")  # «Разбивка» first: the map and the distributions are not drawn
    listing = next(d.value for d in app.dataframe if "Цена, ₽" in d.value.columns)
    assert len(listing) == min(kpis(app)["total"], 50)  # the first page
    assert listing["Цена, ₽"].is_monotonic_increasing


def test_the_type_cards_count_each_type_by_status(app: AppTest, db: Cache) -> None:
    """One card per premise type (a single markdown each): its total and its free / booked / sold
    counts equal SQL over the cache."""
    cards = {m.value.split("**")[1]: m.value for m in app.markdown if m.value.count("  \n") == 3}
    assert len(cards) == len(PremiseType)
    for ptype in PremiseType:
        card = cards[PREMISE_TYPE_PLURAL[ptype]]
        want = truth(db, "type = ?", [ptype.value])
        assert f"· {fmt(want['total'])}  \n" in card
        for status, label in (("free", "Свободно"), ("booked", "Забронировано"), ("sold", "Продано")):
            assert f"{label}: **{fmt(want[status])}**" in card


def fmt(n: int) -> str:
    return f"{n:,}".replace(",", NBSP)


@pytest.mark.parametrize(
    ("key", "value", "where", "params"),
    [
        ("av_types", ["apartment"], "type = ?", ["apartment"]),
        ("av_options", ["installment"], "list_contains(purchase_option, ?)", ["installment"]),
        # several purchase options: any of them will do
        (
            "av_options",
            ["installment", "bill"],
            "list_has_any(purchase_option, ?)",
            [["installment", "bill"]],
        ),
        ("av_features", ["sign_balcony"], "list_contains(feature, ?)", ["sign_balcony"]),
    ],
)
def test_multiselect_filters(
    app: AppTest, db: Cache, key: str, value: list, where: str, params: list
) -> None:
    before = kpis(app)
    app.multiselect(key=key).set_value(value).run()
    no_exceptions(app)
    after = kpis(app)
    assert after == truth(db, where, params)
    assert after != before


def test_rooms_filter(app: AppTest, db: Cache) -> None:
    before = kpis(app)
    rooms_key = next(m.key for m in app.multiselect if m.label == "Комнат")
    app.multiselect(key=rooms_key).set_value([2]).run()
    no_exceptions(app)
    assert kpis(app) == truth(db, "rooms = 2", [])
    assert kpis(app) != before


def test_feature_filter_needs_every_selected_feature(app: AppTest, db: Cache) -> None:
    # the two features most often found together
    cur = db.reader()
    pair = cur.execute(
        "SELECT a, b FROM (SELECT unnest(feature) AS a, feature FROM premises), unnest(feature) AS t(b) "
        "WHERE a < b GROUP BY a, b ORDER BY count(*) DESC, a, b LIMIT 1"
    ).fetchone()
    cur.close()
    assert pair is not None
    chosen = list(pair)
    app.multiselect(key="av_features").set_value(chosen).run()
    no_exceptions(app)
    assert kpis(app) == truth(db, "list_has_all(feature, ?)", [chosen])


def test_price_area_floor_sliders(app: AppTest, db: Cache) -> None:
    price = slider(app, "Цена, млн ₽")
    lo, hi = price.value
    mid = round((lo + hi) / 2, 1)
    price.set_value((lo, mid)).run()
    no_exceptions(app)
    assert kpis(app) == truth(db, "price BETWEEN ? AND ?", [round(lo * 1e6), round(mid * 1e6)])
    price = slider(app, "Цена, млн ₽")
    price.set_value((lo, hi)).run()

    area = slider(app, "Площадь, м²")
    a_lo, a_hi = area.value
    area.set_value((a_lo, a_lo + 30.0)).run()
    no_exceptions(app)
    assert kpis(app) == truth(db, "size BETWEEN ? AND ?", [a_lo, a_lo + 30.0])
    slider(app, "Площадь, м²").set_value((a_lo, a_hi)).run()

    floor = slider(app, "Этаж")
    f_lo, _f_hi = floor.value
    before = kpis(app)
    floor.set_value((f_lo, f_lo + 2)).run()
    no_exceptions(app)
    after = kpis(app)
    assert after == truth(db, "floor BETWEEN ? AND ?", [f_lo, f_lo + 2])
    assert after != before


def test_sidebar_scope_filters_and_survives_page_switch(app: AppTest, db: Cache) -> None:
    city_id = count(db, "SELECT pr.city_id FROM premises p JOIN projects pr ON pr.id = p.project_id "
                        "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")  # fmt: skip
    pick_scope(app, city=city_id)
    in_city = "project_id IN (SELECT id FROM projects WHERE city_id = ?)"
    assert kpis(app) == truth(db, in_city, [city_id])

    project_id = count(
        db,
        # the test's own constant text, no values in it
        f"SELECT project_id FROM premises WHERE {in_city} GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",  # noqa: S608
        [city_id],
    )
    pick_scope(app, project=project_id)
    assert kpis(app) == truth(db, "project_id = ?", [project_id])

    building_id = count(
        db,
        "SELECT building_id FROM premises WHERE project_id = ? GROUP BY 1 ORDER BY 1 LIMIT 1",
        [project_id],
    )
    pick_scope(app, building=building_id)
    assert kpis(app) == truth(db, "building_id = ?", [building_id])

    # The choice survives a trip to another page and back.
    app.switch_page("pages/leads.py").run()
    no_exceptions(app)
    app.switch_page("pages/availability.py").run()
    no_exceptions(app)
    assert app.session_state["scope_building_id"] == building_id
    assert kpis(app) == truth(db, "building_id = ?", [building_id])


def test_empty_filter_result_shows_a_message(app: AppTest, db: Cache) -> None:
    assert count(db, "SELECT count(*) FROM premises WHERE type = 'parking' AND rooms = 2") == 0
    app.multiselect(key="av_types").set_value(["parking"]).run()
    rooms_key = next(m.key for m in app.multiselect if m.label == "Комнат")
    app.multiselect(key=rooms_key).set_value([2]).run()  # parking places have no rooms
    no_exceptions(app)
    assert "Нет помещений, подходящих под выбранные фильтры" in texts(app)
    assert not [m for m in app.metric if m.label == "Всего помещений"]


@pytest.mark.parametrize("page", ["pages/availability.py", "pages/chessboard.py", "pages/leads.py"])
def test_empty_cache_shows_a_message(
    monkeypatch: pytest.MonkeyPatch, sandbox: RunningSandbox, tmp_path: Path, page: str
) -> None:
    """No Brusnika data yet; the users directory (Kontur's own) is there, someone reads."""
    path = tmp_path / "empty.duckdb"
    with Cache(path):
        pass  # an empty cache file: no Brusnika data at all
    configure(monkeypatch, sandbox, path)  # the directory, in the store beside it
    at = AppTest.from_file(APP, default_timeout=60)
    act_as(at, user_with(sandbox, "MANAGER")["id"])
    at.run()
    at.switch_page(page).run()
    no_exceptions(at)
    assert "Кэш пуст" in texts(at)


def test_photos_resolve_to_the_sandbox_and_the_card_shows_the_picked_premise(
    app: AppTest, db: Cache, sandbox: RunningSandbox
) -> None:
    listing = next(d.value for d in app.dataframe if "Цена, ₽" in d.value.columns)
    # the cheapest premise with a plan, of a project with a facade (the edge-cases sandbox adds
    # premises without photos and a project with blank URLs: tests of their own cover those)
    cur = db.reader()
    try:
        with_facade = {
            r[0]
            for r in cur.execute(
                "SELECT p.id FROM premises p JOIN projects pr ON pr.id = p.project_id "
                "WHERE pr.photo <> '' AND len(p.photos) > 0"
            ).fetchall()
        }
    finally:
        cur.close()
    row = next(
        i for i, url in enumerate(listing["Планировка"])
        if isinstance(url, str) and int(url.rsplit("/", 1)[1][:-4]) in with_facade
    )  # fmt: skip
    first = listing.iloc[row]
    # a relative record URL became one the browser can load from the sandbox, without a token
    assert first["Планировка"].startswith(f"{sandbox.root_url}/media/premises/")
    picture = httpx.get(first["Планировка"], timeout=30)
    assert picture.status_code == 200
    assert picture.headers["content-type"].startswith("image/svg+xml")
    assert str(first["№"]) in picture.text

    # pick the first row as a click in the table would; the card shows that premise and its project
    app.session_state["av_table"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    app.run()
    no_exceptions(app)
    urls = [image.proto.imgs[0].url for image in app.get("image")]
    assert first["Планировка"] in urls
    project_id = count(
        db, "SELECT project_id FROM premises WHERE id = ?", [int(first["Планировка"].rsplit("/", 1)[1][:-4])]
    )
    assert f"{sandbox.root_url}/media/projects/{project_id}.svg" in urls
    card = " ".join(m.value for m in app.markdown)
    assert f"№ {first['№']}" in card
    area = count(db, "SELECT round(size * 10) FROM premises WHERE number = ? AND id = ?",
                 [str(first["№"]), int(first["Планировка"].rsplit("/", 1)[1][:-4])])  # fmt: skip
    assert f"{area / 10:.1f}".replace(".", ",") + "\u202fм²" in card  # the premise's own area
