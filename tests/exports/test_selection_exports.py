"""The selection's PDF and XLSX, read back with real libraries (pypdf, openpyxl): the premises' numbers,
prices and срок сдачи in Cyrillic, the plans drawn, fonts embedded, hostile text inert; and the rules
for which pictures the server may fetch."""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from kontur.cache import Cache
from kontur.config import MortgagePreset
from kontur.exports import images, pdf, xlsx
from kontur.mortgage import from_preset
from kontur.queries import selection_live
from kontur.sandbox.media import premise_svg

AS_OF = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)
FAMILY = MortgagePreset(name="Семейная ипотека", rate=6, down_payment_share=0.2, term_years=30)
HOSTILE_PROJECT = '=HYPERLINK("http://evil.example","жми") <script>alert(1)</script>\u202eтекст'


@dataclass(frozen=True)
class Item:
    premise_id: int
    added_at: dt.datetime
    price_at_add: int | None
    status_at_add: str | None


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    c = Cache(tmp_path / "kontur.duckdb")
    cur = c.cursor()
    cur.execute("INSERT INTO cities VALUES (1, 'Екатеринбург', 60.6, 56.8, now())")
    cur.execute(
        "INSERT INTO projects (id, city_id, name, brief_description, detailed_description, description,"
        " end_date, photo, link, updated_at) VALUES"
        " (10, 1, 'Квартал «Озёрный»', '', '', '', DATE '2027-12-31', '', '', now()),"
        " (20, 1, ?, '', '', '', DATE '2028-06-30', '', '', now())",
        [HOSTILE_PROJECT],
    )
    cur.execute(
        "INSERT INTO buildings (id, project_id, address, number_of_floors, updated_at) VALUES"
        " (100, 10, 'г. Екатеринбург, ул. Озёрная, д. 5', 17, now()),"
        " (200, 20, '+7 (999) 000-00-00', 9, now())"
    )
    cur.execute(
        "INSERT INTO sections (id, building_id, number, name, number_of_floors, premises_per_floor,"
        " updated_at) VALUES (1000, 100, 2, 'Секция 2', 17, 6, now())"
    )
    premises = [
        # id, project, building, section, number, type, rooms, size, price, floor, options, booked, sold
        (
            1,
            10,
            100,
            1000,
            "124",
            "apartment",
            2,
            54.3,
            6_250_000,
            5,
            ["mortage", "full_payment"],
            False,
            False,
        ),
        (2, 10, 100, 1000, "125", "apartment", 0, 27.0, 4_100_000, 5, ["full_payment"], True, False),
        (3, 20, 200, None, "П7", "parking", 0, 0.0, 900_000, -1, ["installment"], False, False),
    ]
    cur.executemany(
        "INSERT INTO premises (id, project_id, building_id, section_id, number, type, rooms, size, price,"
        " floor, feature, photos, is_booked, purchase_option, is_sold, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, [], [], ?, ?, ?, now())",
        [
            (i, pr, b, s, n, t, r, size, price, f, booked, opts, sold)
            for i, pr, b, s, n, t, r, size, price, f, opts, booked, sold in premises
        ],
    )
    cur.close()
    yield c
    c.close()


def _sheet(cache: Cache) -> selection_live.SelectionSheet:
    items = [
        Item(1, AS_OF - dt.timedelta(days=3), 6_000_000, "free"),  # price went up
        Item(2, AS_OF - dt.timedelta(days=2), 4_100_000, "free"),  # booked since
        Item(3, AS_OF - dt.timedelta(days=1), 900_000, "free"),
        Item(99, AS_OF - dt.timedelta(days=1), 1_000_000, "free"),  # withdrawn since
    ]
    with cache.reader() as cur:
        rows = selection_live.live_items(cur, items)
    return selection_live.SelectionSheet(
        title="Двушки у озера",
        client="Иванова Мария Петровна",
        prepared_by="Петров Агент",
        as_of=AS_OF,
        rows=rows,
        totals=selection_live.totals(rows),
    )


def _text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(page.extract_text() for page in reader.pages)
    return re.sub(r"[\u00a0\u202f \n]+", " ", text)  # lines wrap at spaces: join them back


def test_live_items_mark_what_changed(cache: Cache) -> None:
    rows = _sheet(cache).rows
    assert list(rows["change"]) == ["same", "booked", "same", "gone"]
    assert list(rows["price_change"])[:3] == [250_000, 0, 0]
    assert rows["price_per_m2"].iloc[0] == round(6_250_000 / 54.3)
    assert pd.isna(rows["price_per_m2"].iloc[2])  # zero size: no price per m²
    totals = selection_live.totals(rows)
    assert (totals.count, totals.in_cache, totals.free) == (4, 3, 2)
    assert totals.price == 6_250_000 + 4_100_000 + 900_000
    assert totals.price_per_m2 == round((6_250_000 + 4_100_000) / (54.3 + 27.0))


def test_pdf_reads_back_with_numbers_prices_and_completion_dates(cache: Cache) -> None:
    sheet = _sheet(cache)
    cleaned = images.clean_svg(premise_svg("apartment", 2, 54.3, "124").encode())
    assert cleaned is not None
    plan = images.Picture(cleaned, "svg")  # as the fetch hands it over: cut down, then drawn
    data = pdf.selection_pdf(sheet, plans={1: plan, 2: None}, mortgage=FAMILY)
    assert data.startswith(b"%PDF-")
    text = _text(data)
    for expected in (
        "Подборка «Двушки у озера»",
        "Иванова Мария Петровна",
        "№ 124",
        "№ 125",
        "№ П7",
        "6 250 000 ₽",
        "4 100 000 ₽",
        "Срок сдачи: 31.12.2027",
        "Срок сдачи: 30.06.2028",
        "Статус: Забронировано (изменился после добавления в подборку)",
        "Помещение ID 99 (снято с продажи)",
    ):
        assert expected in text, expected
    # the plan is drawn from its SVG as vectors: its room names are text in the PDF
    assert "Кухня" in text
    assert "Комната" in text
    # the estimate only where the premise allows a mortgage, with the module's own figure
    estimate = from_preset(6_250_000, FAMILY)
    assert text.count("Ипотека «Семейная ипотека»") == 1
    assert f"{estimate.monthly_payment:,.2f}".replace(",", " ").replace(".", ",") in text
    # hostile partner text is printed as text (the bidi override removed), never acted on
    assert "<script>alert(1)</script>" in text
    assert "\u202e" not in text


def test_pdf_embeds_its_cyrillic_font(cache: Cache) -> None:
    data = pdf.selection_pdf(_sheet(cache), plans={}, mortgage=None)
    reader = PdfReader(io.BytesIO(data))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    embedded = []
    for ref in fonts.values():
        font = ref.get_object()
        descendant = font["/DescendantFonts"][0].get_object()
        descriptor = descendant["/FontDescriptor"].get_object()
        embedded.append((str(font["/BaseFont"]), "/FontFile2" in descriptor))
    assert embedded, "no fonts on the page"
    assert all(has_file for _, has_file in embedded), embedded
    assert any("NotoSans" in name for name, _ in embedded), embedded
    assert "Ипотека" not in _text(data)  # no preset chosen: no estimate


def test_xlsx_opens_with_the_same_rows_and_inert_cells(cache: Cache) -> None:
    sheet = _sheet(cache)
    book = load_workbook(io.BytesIO(xlsx.selection_xlsx(sheet)))
    ws = book["Подборка"]
    values = [list(r) for r in ws.iter_rows(values_only=True)]
    header_at = next(i for i, r in enumerate(values) if r[0] == "ID помещения")
    table = values[header_at + 1 :]
    assert [r[0] for r in table] == [1, 2, 3, 99]
    assert [r[1] for r in table] == ["124", "125", "П7", None]
    assert table[0][10] == 6_250_000
    assert table[0][12] == "Свободно"
    assert table[1][13] == "Забронировано после добавления"
    assert table[0][15] == dt.datetime(2027, 12, 31)
    # the hostile project name is text starting with an apostrophe, not a formula; the address that
    # looks like a phone number (+7 …) too
    assert table[2][3].startswith("'=HYPERLINK")
    assert table[2][4] == "'+7 (999) 000-00-00"
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate


def test_svg_is_cut_down_to_drawing_elements() -> None:
    hostile = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" onload="x()">'
        '<script>alert(1)</script><image xlink:href="file:///etc/passwd" width="9" height="9"/>'
        '<use href="http://169.254.169.254/latest"/><foreignObject><p>hi</p></foreignObject>'
        '<rect width="5" height="5" fill="url(http://evil.example/p.svg#x)" style="fill:red"/>'
        '<text x="1" y="2" style="background:url(http://evil.example)">Кухня</text></svg>'
    ).encode()
    cleaned = images.clean_svg(hostile)
    assert cleaned is not None
    for gone in (b"script", b"image", b"use", b"foreignObject", b"onload", b"evil.example", b"passwd"):
        assert gone not in cleaned, gone
    assert "Кухня".encode() in cleaned
    assert b'style="fill:red"' in cleaned
    bomb = b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><svg>&b;</svg>'
    assert images.clean_svg(bomb) is None
    assert images.clean_svg(b"<html><body/></html>") is None


@pytest.mark.parametrize(
    ("url", "fetched"),
    [
        ("/media/premises/1.svg", "http://127.0.0.1:8765/media/premises/1.svg"),
        ("http://127.0.0.1:8765/media/premises/1.svg", "http://127.0.0.1:8765/media/premises/1.svg"),
        ("https://cdn.brusnika.example/p/1.jpg", "https://cdn.brusnika.example/p/1.jpg"),
        ("https://169.254.169.254/latest/meta-data", None),  # https, but not a media host
        ("http://cdn.brusnika.example/p/1.jpg", None),  # plain http off the API host
        ("javascript:alert(1)", None),
        ("data:image/svg+xml,<svg/>", None),
        ("file:///etc/passwd", None),
        (None, None),
    ],
)
def test_the_server_fetches_only_from_the_api_and_media_hosts(url: object, fetched: str | None) -> None:
    got = images.fetchable(url, api_url="http://127.0.0.1:8765/api/v1", media_hosts=["cdn.brusnika.example"])
    assert got == fetched


def test_every_hostile_payload_still_makes_a_readable_pdf_and_inert_xlsx(cache: Cache) -> None:
    from kontur.sandbox import hostile

    base = _sheet(cache)
    for payload in (*hostile.PAYLOADS, *hostile.URL_PAYLOADS):
        rows = base.rows.copy()
        rows["project"] = payload
        rows["address"] = payload
        sheet = selection_live.SelectionSheet(
            title=payload, client=payload, prepared_by=payload, as_of=AS_OF, rows=rows, totals=base.totals
        )
        data = pdf.selection_pdf(sheet, plans={}, mortgage=FAMILY)
        assert "Срок сдачи: 31.12.2027" in _text(data)
        book = load_workbook(io.BytesIO(xlsx.selection_xlsx(sheet)))
        for row in book["Подборка"].iter_rows():
            for cell in row:
                assert cell.data_type != "f", (payload[:40], cell.coordinate)
