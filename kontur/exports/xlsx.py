"""A selection as an XLSX workbook: one row per premise, numbers as numbers, every text cell through
`csv_cell` (a name starting with `=`, `+`, `-` or `@` stays text, never a formula)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font

from kontur import labels
from kontur.models import PremiseType
from kontur.queries.selection_live import SelectionSheet
from kontur.ui.safe import csv_cell, plain

# (header, how to get the cell from a row)
COLUMNS: Sequence[tuple[str, str]] = (
    ("ID помещения", "premise_id"),
    ("№", "number"),
    ("Город", "city"),
    ("Проект", "project"),
    ("Адрес", "address"),
    ("Секция", "section_number"),
    ("Этаж", "floor"),
    ("Тип", "type"),
    ("Комнат", "rooms"),
    ("Площадь, м²", "size"),
    ("Цена, ₽", "price"),
    ("Цена за м², ₽", "price_per_m2"),
    ("Статус", "status"),
    ("Изменение", "change"),
    ("Цена при добавлении, ₽", "price_at_add"),
    ("Срок сдачи", "end_date"),
    ("Добавлено", "added_at"),
)
TEXT_LIMIT = 500


def _value(row: Mapping[str, Any], key: str) -> Any:
    value = row.get(key)
    if value is None or (not isinstance(value, list | tuple) and pd.isna(value)):
        return None
    if key == "type":
        return labels.label_of(PremiseType, str(value))
    if key == "status":
        return labels.PREMISE_STATUS.get(str(value), str(value))
    if key == "change":
        return labels.SELECTION_CHANGE.get(str(value), str(value))
    if key == "end_date":
        return pd.Timestamp(value).date()
    if key == "added_at":
        return pd.Timestamp(value).tz_convert("UTC").tz_localize(None).to_pydatetime()
    if key in ("size",):
        return float(value)
    if key in ("premise_id", "section_number", "floor", "rooms", "price", "price_per_m2", "price_at_add"):
        return int(value)
    return plain(value, limit=TEXT_LIMIT)


def rows_of(sheet: SelectionSheet) -> list[list[Any]]:
    """The table as written (headers excluded), every text cell already inert."""
    return [[csv_cell(_value(row, key)) for _, key in COLUMNS] for row in sheet.rows.to_dict("records")]


def selection_xlsx(sheet: SelectionSheet) -> bytes:
    book = Workbook()
    ws = book.active
    ws.title = "Подборка"
    ws.append([csv_cell(plain(f"Подборка «{sheet.title}»", limit=200))])
    ws["A1"].font = Font(bold=True, size=13)
    if sheet.client:
        ws.append([csv_cell(plain(f"Клиент: {sheet.client}", limit=300))])
    ws.append([f"Цены и статусы на {sheet.as_of.astimezone(dt.UTC):%d.%m.%Y %H:%M} UTC"])
    ws.append([])
    header_row = ws.max_row + 1
    ws.append([header for header, _ in COLUMNS])
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
    for values in rows_of(sheet):
        ws.append(values)
    for column, width in zip(
        "ABCDEFGHIJKLMNOPQ", (12, 8, 14, 24, 36, 8, 6, 18, 8, 11, 14, 13, 14, 28, 18, 12, 18), strict=True
    ):
        ws.column_dimensions[column].width = width
    for row in ws.iter_rows(min_row=header_row + 1):
        for cell in row:
            if isinstance(cell.value, int | float) and cell.column_letter in ("K", "L", "O"):
                cell.number_format = "#,##0"
            elif isinstance(cell.value, dt.datetime):
                cell.number_format = "DD.MM.YYYY HH:MM"
            elif isinstance(cell.value, dt.date):
                cell.number_format = "DD.MM.YYYY"
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
