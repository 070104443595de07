"""The chessboard as HTML: sections side by side, floors top to bottom, one element per premise.

Plain HTML/CSS (no JavaScript) so it renders the same everywhere, is cheap for a 1,000-premise
building, and gives browser tests a stable hook: every premise is one `.kc-cell[data-premise-id]`.
"""

from __future__ import annotations

from html import escape
from typing import Any

import pandas as pd

from kontur import labels
from kontur.models import PremiseType

# Cell geometry, in px; the CSS below uses the same numbers.
_CELL_PX, _GAP_PX = 46, 3

CSS = """
<style>
.kc-board{display:flex;gap:18px;overflow-x:auto;padding:4px 2px 10px;font-family:inherit}
.kc-section{flex:0 0 auto}
.kc-sec-title{font-weight:600;font-size:.85rem;margin:0 0 6px 34px;color:#444}
.kc-row{display:flex;gap:3px;margin-bottom:3px;align-items:flex-start}
.kc-cells{display:flex;gap:3px;flex-wrap:wrap}
.kc-floor{width:30px;height:34px;font-size:.7rem;color:#888;display:flex;align-items:center;justify-content:flex-end;
  padding-right:4px}
.kc-cell{width:46px;height:34px;border-radius:4px;display:flex;flex-direction:column;align-items:center;
  justify-content:center;line-height:1.05;font-size:.72rem;color:#fff;cursor:default;
  box-shadow:inset 0 0 0 1px rgba(0,0,0,.06);transition:transform .08s}
.kc-cell:hover{transform:scale(1.12);box-shadow:0 2px 6px rgba(0,0,0,.3);z-index:2}
.kc-cell b{font-weight:600}
.kc-cell span{font-size:.62rem;opacity:.9}
.kc-free{background:#2e9e5b}
.kc-booked{background:#f0a030}
.kc-sold{background:#b8bec6;color:#333}
.kc-dim{opacity:.18}
.kc-selected{outline:3px solid #1f4fd1;outline-offset:1px}
.kc-gap{width:46px;height:34px}
.kc-legend{display:flex;gap:16px;font-size:.8rem;margin:2px 0 10px;align-items:center;flex-wrap:wrap}
.kc-legend i{display:inline-block;width:14px;height:14px;border-radius:3px;margin-right:5px;
  vertical-align:-2px}
</style>
"""


def _short_rooms(premise_type: str, rooms: int) -> str:
    if premise_type != "apartment":
        return {"storeroom": "клад.", "parking": "м/м", "commercial": "комм."}.get(premise_type, "")
    return "ст." if rooms == 0 else f"{rooms}к"


def _tip(row: Any) -> str:
    ppm = f"{round(row.price_per_m2):,}".replace(",", " ")
    price = f"{row.price:,}".replace(",", " ")
    kind = labels.label_of(PremiseType, row.type)
    rooms = f", {labels.rooms_label(int(row.rooms))}" if row.type == "apartment" else ""
    return (
        f"№ {row.number} — {kind}{rooms}\n{labels.PREMISE_STATUS[row.status]}\n"
        f"Цена: {price} ₽\nПлощадь: {row.size:.1f} м²\nЗа м²: {ppm} ₽\nЭтаж: {row.floor}"
    )


def legend() -> str:
    items = "".join(
        f"<span><i class='kc-{status}'></i>{escape(text)}</span>"
        for status, text in labels.PREMISE_STATUS.items()
    )
    dim = "<span><i class='kc-free kc-dim'></i>не подходит под фильтры</span>"
    return f"{CSS}<div class='kc-legend'>{items}{dim}</div>"


def render(sections: pd.DataFrame, cells: pd.DataFrame, selected_id: int | None = None) -> str:
    """The board's HTML. `cells` as from `queries.chessboard.cells` (ordered by section, floor desc)."""
    names = {int(r.id): (r.name or f"Секция {r.number}") for r in sections.itertuples()}
    order = [int(i) for i in sections["id"]] + sorted(
        {int(s) for s in cells["section_id"]} - {int(i) for i in sections["id"]}
    )
    parts = [CSS, "<div class='kc-board'>"]
    for section_id in order:
        part = cells[cells["section_id"] == section_id]
        if part.empty:
            continue
        floors = sorted({int(x) for x in part["floor"]}, reverse=True)
        per_floor = part.groupby("floor").size()
        # Width of the section = its widest residential floor; a long underground parking row wraps
        # under itself instead of pushing the next section off screen.
        above = per_floor[per_floor.index >= 1]
        width = int((above if not above.empty else per_floor).max())
        row_px = width * (_CELL_PX + _GAP_PX)
        parts.append(
            "<div class='kc-section'><div class='kc-sec-title'>"
            f"{escape(names.get(section_id, 'Секция'))}</div>"
        )
        for floor in floors:
            row_cells = part[part["floor"] == floor]
            parts.append(
                f"<div class='kc-row'><div class='kc-floor'>{floor}</div>"
                f"<div class='kc-cells' style='width:{row_px}px'>"
            )
            for row in row_cells.itertuples():
                classes = f"kc-cell kc-{row.status}"
                if not row.matches:
                    classes += " kc-dim"
                if selected_id is not None and int(row.id) == selected_id:
                    classes += " kc-selected"
                parts.append(
                    f"<div class='{classes}' data-premise-id='{int(row.id)}' data-status='{row.status}' "
                    f"title='{escape(_tip(row), quote=True)}'><b>{escape(str(row.number))}</b>"
                    f"<span>{_short_rooms(row.type, int(row.rooms))}</span></div>"
                )
            parts.append("<div class='kc-gap'></div>" * max(0, width - len(row_cells)))
            parts.append("</div></div>")
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)
