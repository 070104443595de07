"""A selection's premises as they are now in the cache, beside what they were when added (or when the
person last looked): what changed, totals and price per m², and the sheet the exports print.

The selection itself lives in Kontur's operational store (`kontur.store.selections`); queries sit below
it in the layers, so items come in by shape (`ItemAtAdd`), not by import.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from ._db import Conn, frame, has_table

# what changed since the item was added (or last seen); labels in kontur.labels.SELECTION_CHANGE
SAME, BOOKED, SOLD, FREED, GONE = "same", "booked", "sold", "freed", "gone"

PREMISE_COLUMNS = [
    "id", "number", "type", "rooms", "size", "price", "floor", "status", "photos", "purchase_option",
    "feature", "building_id", "address", "number_of_floors", "section_number", "section_name",
    "project_id", "project", "end_date", "city",
]  # fmt: skip


class ItemAtAdd(Protocol):
    """`kontur.store.selections.SelectionItem` fits."""

    @property
    def premise_id(self) -> int: ...
    @property
    def added_at(self) -> dt.datetime: ...
    @property
    def price_at_add(self) -> int | None: ...
    @property
    def status_at_add(self) -> str | None: ...


def change_of(before: str | None, now: str | None) -> str:
    """How a premise's status moved: withdrawn, newly booked, newly sold, free again, or no change.
    An unknown earlier status (the premise was not in the cache when added) compares as free."""
    if now is None:
        return GONE
    was = before or "free"
    if now == "sold" and was != "sold":
        return SOLD
    if now == "booked" and was == "free":
        return BOOKED
    if now == "free" and was in ("booked", "sold"):
        return FREED
    return SAME


def premises_now(con: Conn, ids: Sequence[int]) -> pd.DataFrame:
    """The premises with these ids as the cache holds them now, with their place (project, building,
    section, floor) and the project's срок сдачи. Ids not in the cache are simply absent."""
    if not ids or not has_table(con, "premises"):
        return pd.DataFrame(columns=PREMISE_COLUMNS)
    return frame(
        con,
        """
        SELECT p.id, p.number, p.type, p.rooms, p.size, p.price, p.floor,
               CASE WHEN p.is_sold THEN 'sold' WHEN p.is_booked THEN 'booked' ELSE 'free' END AS status,
               p.photos, p.purchase_option, p.feature, p.building_id, b.address, b.number_of_floors,
               s.number AS section_number, s.name AS section_name, p.project_id, pr.name AS project,
               pr.end_date, c.name AS city
        FROM premises p
        LEFT JOIN buildings b ON b.id = p.building_id
        LEFT JOIN sections s ON s.id = p.section_id
        LEFT JOIN projects pr ON pr.id = p.project_id
        LEFT JOIN cities c ON c.id = pr.city_id
        WHERE list_contains(?::BIGINT[], p.id)
        """,
        [sorted({int(i) for i in ids})],
    )


def live_items(con: Conn, items: Sequence[ItemAtAdd]) -> pd.DataFrame:
    """One row per item, in the items' order: the premise now (`PREMISE_COLUMNS`, NaN when withdrawn),
    `added_at`, `price_at_add`, `status_at_add`, `change` (see `change_of`), `price_change` (now − then,
    None when either is unknown) and `price_per_m2` (None for a zero size)."""
    now = premises_now(con, [i.premise_id for i in items]).set_index("id", drop=False)
    rows: list[dict[str, Any]] = []
    for item in items:
        row: dict[str, Any] = {c: None for c in PREMISE_COLUMNS}
        row["id"] = item.premise_id
        if item.premise_id in now.index:
            row.update(now.loc[item.premise_id].to_dict())
        status = row["status"] if item.premise_id in now.index else None
        price = _int(row["price"])
        row.update(
            premise_id=item.premise_id,
            added_at=item.added_at,
            price_at_add=item.price_at_add,
            status_at_add=item.status_at_add,
            change=change_of(item.status_at_add, status),
            price_change=None if price is None or item.price_at_add is None else price - item.price_at_add,
            price_per_m2=_per_m2(price, row["size"]),
        )
        rows.append(row)
    columns = [*PREMISE_COLUMNS, "premise_id", "added_at", "price_at_add", "status_at_add", "change",
               "price_change", "price_per_m2"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def _int(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _per_m2(price: int | None, size: Any) -> float | None:
    if price is None or size is None or pd.isna(size) or float(size) <= 0:
        return None
    return round(price / float(size))


@dataclass(frozen=True)
class Totals:
    """Over the premises still in the cache: how many, how many free now, their price and area, and
    the price per m² of the whole (total price / total area of those with an area)."""

    count: int
    in_cache: int
    free: int
    price: int
    area: float
    price_per_m2: float | None
    free_price: int


def totals(rows: pd.DataFrame) -> Totals:
    present = [r for r in rows.to_dict("records") if r["change"] != GONE]
    sized = [r for r in present if _int(r["price"]) is not None and _positive(r["size"])]
    free = [r for r in present if r["status"] == "free"]
    area = sum(float(r["size"]) for r in sized)
    return Totals(
        count=len(rows),
        in_cache=len(present),
        free=len(free),
        price=sum(_int(r["price"]) or 0 for r in present),
        area=round(area, 2),
        price_per_m2=round(sum(_int(r["price"]) or 0 for r in sized) / area) if area > 0 else None,
        free_price=sum(_int(r["price"]) or 0 for r in free),
    )


def _positive(value: Any) -> bool:
    return value is not None and not pd.isna(value) and float(value) > 0


@dataclass(frozen=True)
class SelectionSheet:
    """What the PDF and XLSX print: the selection's header and its rows (`live_items`)."""

    title: str
    client: str | None
    prepared_by: str | None
    as_of: dt.datetime
    rows: pd.DataFrame
    totals: Totals
    notes: tuple[str, ...] = field(default_factory=tuple)
