"""A selection as a PDF a client can read: each premise with its plan, place, price, срок сдачи and,
where the premise allows a mortgage, an estimate; totals at the end.

fpdf2 writes it (a real PDF library: text is text, so it can be searched and copied), with Noto Sans
embedded (`fonts.py`); plans are drawn as vectors from their SVG, or placed as PNG/JPEG. Every value
from Brusnika passes through `plain()` (no controls or bidi overrides, cut to a sane length).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd
from fpdf import FPDF

from kontur import labels
from kontur.config import MortgagePreset, Settings
from kontur.models import PremiseType
from kontur.mortgage import MortgageInputError, allows_mortgage, from_preset
from kontur.queries.selection_live import GONE, SAME, SelectionSheet
from kontur.ui import money
from kontur.ui.safe import plain

from . import fonts
from .images import Picture, fetch_plans

log = logging.getLogger(__name__)

NBSP = "\u00a0"
PLAN_W, PLAN_H = 70.0, 52.5  # mm, the sandbox plans' 4:3
TEXT_LIMIT = 160


def rub(value: Any, *, kopecks: bool = False) -> str:
    return money.rub(value, kopecks=kopecks, space=NBSP)


def area(value: Any) -> str:
    if value is None or pd.isna(value):
        return "—"
    return f"{float(value):.1f}".replace(".", ",") + f"{NBSP}м²"


def date_ru(value: Any) -> str:
    if value is None or (not isinstance(value, dt.date) and pd.isna(value)):
        return "не указан"
    return pd.Timestamp(value).strftime("%d.%m.%Y")


def premise_title(row: Mapping[str, Any]) -> str:
    kind = row.get("type")
    if kind is None or (isinstance(kind, float) and pd.isna(kind)):
        number = row.get("number")
        shown = (
            f"№{NBSP}{plain(number, limit=40)}" if isinstance(number, str) else f"ID{NBSP}{row['premise_id']}"
        )
        return f"Помещение {shown} (снято с продажи)"
    what = labels.label_of(PremiseType, str(kind))
    rooms = row.get("rooms")
    if kind == PremiseType.APARTMENT and rooms is not None and not pd.isna(rooms):
        what = f"{what}, {labels.rooms_label(int(rooms)).lower()}"
    return f"{what} №{NBSP}{plain(row.get('number'), limit=40)} · {area(row.get('size'))}"


def mortgage_line(row: Mapping[str, Any], preset: MortgagePreset | None) -> str | None:
    options = row.get("purchase_option")
    options = options.tolist() if hasattr(options, "tolist") else options
    price = row.get("price")
    if preset is None or not allows_mortgage(options) or price is None or pd.isna(price):
        return None
    try:
        est = from_preset(int(price), preset)
    except MortgageInputError:
        return None
    share = f"{preset.down_payment_share * 100:.0f}".replace(".", ",")
    rate = f"{preset.rate:g}".replace(".", ",")
    return (
        f"Ипотека «{plain(preset.name, limit=60)}»: взнос {rub(est.down_payment)} ({share}{NBSP}%), "
        f"{rate}{NBSP}% на {preset.term_years}{NBSP}лет — примерно {rub(est.monthly_payment, kopecks=True)} "
        f"в месяц, переплата {rub(est.overpayment)}"
    )


class _Doc(FPDF):
    def __init__(self, as_of: dt.datetime) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.as_of = as_of
        files = fonts.font_files()
        self.add_font(fonts.FAMILY, "", str(files.regular))
        self.add_font(fonts.FAMILY, "B", str(files.bold))
        # SVG text asks for generic families: draw it with the same embedded font.
        for family in ("sans-serif", "serif", "monospace"):
            self.add_font(family, "", str(files.regular))
            self.add_font(family, "B", str(files.bold))
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(15, 15, 15)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(fonts.FAMILY, "", 7.5)
        self.set_text_color(110, 110, 110)
        self.cell(
            0,
            5,
            f"Цены и статусы на {self.as_of:%d.%m.%Y %H:%M} UTC. Не является публичной офертой; "
            f"расчёт ипотеки — оценка, условия банка могут отличаться.   Стр. {self.page_no()}",
            align="C",
        )


def _line(
    doc: _Doc, text: str, *, size: float = 10, bold: bool = False, color: tuple[int, int, int] = (20, 28, 38)
) -> None:
    doc.set_font(fonts.FAMILY, "B" if bold else "", size)
    doc.set_text_color(*color)
    doc.multi_cell(0, size * 0.5, text, align="L", new_x="LMARGIN", new_y="NEXT")


def _picture(doc: _Doc, picture: Picture | None, x: float, y: float) -> None:
    if picture is not None:
        try:
            doc.image(io.BytesIO(picture.data), x=x, y=y, w=PLAN_W, h=PLAN_H, keep_aspect_ratio=True)
            return
        except Exception as exc:  # a picture fpdf2 cannot draw must not lose the whole PDF
            log.info("plan not drawn in the PDF: %s", type(exc).__name__)
    doc.set_draw_color(200, 205, 212)
    doc.rect(x, y, PLAN_W, PLAN_H)
    doc.set_xy(x, y + PLAN_H / 2 - 3)
    doc.set_font(fonts.FAMILY, "", 9)
    doc.set_text_color(120, 120, 120)
    doc.cell(PLAN_W, 6, "Планировка недоступна", align="C")


def _premise(
    doc: _Doc, row: Mapping[str, Any], picture: Picture | None, preset: MortgagePreset | None
) -> None:
    if doc.get_y() + PLAN_H + 6 > doc.h - 20:
        doc.add_page()
    top = doc.get_y()
    _picture(doc, picture, doc.l_margin, top)
    doc.set_left_margin(doc.l_margin + PLAN_W + 6)
    doc.set_xy(doc.l_margin, top)
    _line(doc, premise_title(row), size=11.5, bold=True)
    if row.get("change") != GONE:
        place = ", ".join(
            p for p in (plain(row.get("project"), limit=80), plain(row.get("city"), limit=60)) if p != "—"
        )
        _line(doc, f"Проект: {place or '—'}")
        _line(doc, f"Адрес: {plain(row.get('address'), limit=TEXT_LIMIT)}")
        floors = row.get("number_of_floors")
        of = "" if floors is None or pd.isna(floors) else f" из {int(floors)}"
        section = row.get("section_number")
        sec = "" if section is None or pd.isna(section) else f"Секция {int(section)}, "
        floor = row.get("floor")
        _line(doc, f"{sec}этаж {'—' if floor is None or pd.isna(floor) else int(floor)}{of}")
        per_m2 = row.get("price_per_m2")
        per = "" if per_m2 is None or pd.isna(per_m2) else f" ({rub(per_m2)} за м²)"
        _line(doc, f"Цена: {rub(row.get('price'))}{per}", bold=True)
        _line(doc, f"Срок сдачи: {date_ru(row.get('end_date'))}")
        status = labels.PREMISE_STATUS.get(str(row.get("status")), "—")
        change = row.get("change")
        suffix = "" if change == SAME else " (изменился после добавления в подборку)"
        _line(doc, f"Статус: {status}{suffix}", color=(20, 28, 38) if change == SAME else (176, 92, 0))
        delta = row.get("price_change")
        if delta is not None and not pd.isna(delta) and int(delta) != 0:
            sign = "+" if int(delta) > 0 else "−"
            _line(
                doc,
                f"Цена при добавлении: {rub(row.get('price_at_add'))} ({sign}{rub(abs(int(delta)))})",
                size=9,
            )
        estimate = mortgage_line(row, preset)
        if estimate:
            _line(doc, estimate, size=9)
    else:
        _line(doc, "Помещение снято с продажи: в данных Брусники его больше нет.", color=(176, 92, 0))
    doc.set_left_margin(doc.l_margin - PLAN_W - 6)
    doc.set_xy(doc.l_margin, max(doc.get_y(), top + PLAN_H) + 6)


def selection_pdf(
    sheet: SelectionSheet, *, plans: Mapping[int, Picture | None], mortgage: MortgagePreset | None
) -> bytes:
    """The PDF's bytes. `plans`: premise id -> its plan (see `images.fetch_plans`); `mortgage`: the
    programme to estimate with (None: no estimate)."""
    doc = _Doc(sheet.as_of)
    doc.set_title(plain(f"Подборка «{sheet.title}»", limit=200))
    doc.set_creator("Контур × Брусника")
    doc.add_page()
    _line(doc, f"Подборка «{plain(sheet.title, limit=200)}»", size=17, bold=True)
    if sheet.client:
        _line(doc, f"Для клиента: {plain(sheet.client, limit=200)}", size=11)
    if sheet.prepared_by:
        _line(doc, f"Подготовил(а): {plain(sheet.prepared_by, limit=200)}", size=9, color=(90, 90, 90))
    doc.ln(4)
    for row in sheet.rows.to_dict("records"):
        _premise(doc, row, plans.get(int(row["premise_id"])), mortgage)
    t = sheet.totals
    doc.ln(2)
    _line(doc, "Итого", size=12.5, bold=True)
    _line(doc, f"Помещений: {t.count}, в продаже: {t.in_cache}, свободно сейчас: {t.free}")
    _line(doc, f"Сумма по помещениям в продаже: {rub(t.price)}; площадь {area(t.area)}")
    per = "—" if t.price_per_m2 is None else rub(t.price_per_m2)
    _line(doc, f"Средняя цена за м²: {per}; свободные на сумму {rub(t.free_price)}")
    for note in sheet.notes:
        _line(doc, plain(note, limit=400), size=9, color=(90, 90, 90))
    return bytes(doc.output())


def selection_pdf_from(
    sheet: SelectionSheet, *, settings: Settings, mortgage: MortgagePreset | None
) -> bytes:
    """The PDF with the plans fetched first (from the API's host and `settings.media_hosts` only): what
    «Скачать PDF» builds on the click."""
    plans = fetch_plans(
        ((int(r["premise_id"]), r["photos"]) for r in sheet.rows.to_dict("records")),
        api_url=settings.api_url,
        media_hosts=settings.media_hosts,
    )
    return selection_pdf(sheet, plans=plans, mortgage=mortgage)
