"""The chessboard as HTML (and the building's header above it): sections side by side, floors top to
bottom, one element per premise.

Plain HTML/CSS (no JavaScript) so it renders the same everywhere, is cheap for a 1,000-premise
building, and gives browser tests a stable hook: every premise is one `.kc-cell[data-premise-id]`.
Every value from a record is escaped (`html.escape`, quotes too: values sit in attributes), and the
board carries no URL at all; classes and attributes come from our own constants and integers.
"""

from __future__ import annotations

from collections.abc import Collection
from html import escape
from typing import Any

import pandas as pd
import streamlit as st

from kontur import labels
from kontur.models import PremiseType
from kontur.queries import PremiseFilters, chessboard

from .fmt import fmt_area, fmt_rub, fmt_whole, premise_caption, rooms_text
from .project_card import fmt_date, open_project_button
from .reads import read, view
from .safe import md, plain

# Cell geometry, in px; the CSS below uses the same numbers.
_CELL_PX, _GAP_PX = 46, 3
# The group of premises without a section (the contract requires one; a cache may still lack it).
NO_SECTION = -1
NAME_LIMIT = 60
# A premise another page asks the board to outline (a lead's «Показать на шахматке»).
HIGHLIGHT_KEY = "chessboard_highlight_id"

CSS = """
<style>
.kc-board{display:flex;gap:18px;overflow-x:auto;padding:4px 2px 10px;font-family:inherit}
.kc-section{flex:0 0 auto}
.kc-sec-title{font-weight:600;font-size:.85rem;margin:0 0 6px 34px;color:#444;max-width:480px;
  overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.kc-row{display:flex;gap:3px;margin-bottom:3px;align-items:flex-start}
.kc-cells{display:flex;gap:3px;flex-wrap:wrap}
.kc-floor{width:30px;height:34px;font-size:.7rem;color:#888;display:flex;align-items:center;justify-content:flex-end;
  padding-right:4px}
.kc-cell{width:46px;height:34px;border-radius:4px;display:flex;flex-direction:column;align-items:center;
  justify-content:center;line-height:1.05;font-size:.72rem;color:#fff;cursor:default;overflow:hidden;
  box-shadow:inset 0 0 0 1px rgba(0,0,0,.06);transition:transform .08s}
.kc-cell:hover{transform:scale(1.12);box-shadow:0 2px 6px rgba(0,0,0,.3);z-index:2}
.kc-cell b{font-weight:600;max-width:44px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.kc-cell span{font-size:.62rem;opacity:.9}
.kc-free{background:#2e9e5b}
.kc-booked{background:#f0a030}
.kc-sold{background:#b8bec6;color:#333}
.kc-dim{opacity:.18}
.kc-selected{outline:3px solid #1f4fd1;outline-offset:1px}
.kc-cell{position:relative}
.kc-insel::after{content:'';position:absolute;top:2px;right:2px;width:8px;height:8px;border-radius:50%;
  background:#1f4fd1;box-shadow:0 0 0 1.5px #fff}
.kc-legend i.kc-insel-mark{border-radius:50%;width:10px;height:10px;background:#1f4fd1}
.kc-gap{width:46px;height:34px}
.kc-legend{display:flex;gap:16px;font-size:.8rem;margin:2px 0 10px;align-items:center;flex-wrap:wrap}
.kc-legend i{display:inline-block;width:14px;height:14px;border-radius:3px;margin-right:5px;
  vertical-align:-2px}
</style>
"""


def _text(value: Any, limit: int = NAME_LIMIT) -> str:
    return escape(plain(value, limit=limit), quote=True)


def _short_rooms(premise_type: Any, rooms: Any) -> str:
    if premise_type == PremiseType.APARTMENT.value:
        return "" if pd.isna(rooms) else labels.rooms_short(int(rooms))
    try:
        return labels.PREMISE_TYPE_SHORT[PremiseType(premise_type)]
    except ValueError:
        return ""


def _status(row: Any) -> str:
    # status comes from our own SQL CASE; anything else would not be a class we know
    return row.status if row.status in labels.PREMISE_STATUS else "sold"


def _tip(row: Any) -> str:
    kind = labels.label_of(PremiseType, plain(row.type))
    rooms = f", {rooms_text(row.type, row.rooms)}" if row.type == PremiseType.APARTMENT.value else ""
    return (
        f"№ {plain(row.number, limit=NAME_LIMIT)} — {kind}{rooms}\n{labels.PREMISE_STATUS[_status(row)]}\n"
        f"Цена: {fmt_rub(row.price)}\nПлощадь: {fmt_area(row.size)}\nЗа м²: {fmt_rub(row.price_per_m2)}\n"
        f"Этаж: {fmt_whole(row.floor)}"
    )


def legend() -> str:
    items = "".join(
        f"<span><i class='kc-{status}'></i>{escape(text)}</span>"
        for status, text in labels.PREMISE_STATUS.items()
    )
    dim = "<span><i class='kc-free kc-dim'></i>не подходит под фильтры</span>"
    mine = "<span><i class='kc-insel-mark'></i>в ваших подборках</span>"
    return f"{CSS}<div class='kc-legend'>{items}{dim}{mine}</div>"


def _section_names(sections: pd.DataFrame) -> dict[int, str]:
    names = {}
    for r in sections.itertuples():
        name = r.name if isinstance(r.name, str) and r.name.strip() else f"Секция {fmt_whole(r.number)}"
        names[int(r.id)] = name
    return names


def render(
    sections: pd.DataFrame,
    cells: pd.DataFrame,
    selected_id: int | None = None,
    in_selection: Collection[int] = (),
) -> str:
    """The board's HTML. `cells` as from `queries.chessboard.cells` (ordered by section, floor desc);
    premises in `in_selection` (the reader's own selections) carry a dot and `data-in-selection`."""
    return select(_board(sections, cells, in_selection), selected_id)


def select(board: str, selected_id: int | None) -> str:
    """`board` (from `_board`) with the premise `selected_id` outlined: its class attribute ends right
    before its `data-premise-id`, so the outline is one replacement, not a new board."""
    if selected_id is None:
        return board
    ident = f"' data-premise-id='{int(selected_id)}'"
    return board.replace(ident, " kc-selected" + ident, 1)


def board_of(building_id: int, f: PremiseFilters, in_selection: tuple[int, ...]) -> str:
    """The board of a building under `f`, nothing selected: through `ui.view`, built once per data
    version, filters and the reader's selected premises (a 1,000-premise board is the page's
    costliest part)."""
    return _board(
        read(chessboard.sections, building_id), read(chessboard.cells, building_id, f), in_selection
    )


def free_premises_of(building_id: int, f: PremiseFilters) -> tuple[dict[int, Any], dict[int, str]]:
    """The free premises under `f` (id → named tuple: `row.size` is the area, not Series.size) and
    their captions: the board's choice, through `ui.view` (a caption per free premise each run adds up)."""
    cells = read(chessboard.cells, building_id, f)
    free = {
        int(r.id): r for r in cells[(cells["status"] == "free") & cells["matches"]].itertuples(index=False)
    }
    return free, {i: premise_caption(r) for i, r in free.items()}


def board_html(
    building_id: int, f: PremiseFilters, selected_id: int | None, in_selection: Collection[int]
) -> str:
    """`render` of the building's board under `f`, the cached board with the selection outlined."""
    marked = tuple(sorted({int(i) for i in in_selection}))
    return select(view(board_of, int(building_id), f, marked), selected_id)


def _board(sections: pd.DataFrame, cells: pd.DataFrame, in_selection: Collection[int] = ()) -> str:
    marked = {int(i) for i in in_selection}
    names = _section_names(sections)
    # One pass over the rows into section → floor → cells (in the query's order): a pandas group per
    # floor cost a DataFrame, a namedtuple class and per-row indexing each, ~0.2 s per 800-premise
    # board at scale 10, paid again after every sync by the first person to open each building.
    by_section: dict[int, dict[int, list[Any]]] = {}
    sections_of = cells["section_id"].tolist()
    for section, row in zip(sections_of, cells.itertuples(index=False), strict=True):
        if pd.isna(row.floor):
            continue  # no floor, no row to put it in (as a pandas group by floor left it out)
        key = int(section) if pd.notna(section) else NO_SECTION
        by_section.setdefault(key, {}).setdefault(int(row.floor), []).append(row)
    # sections the cache does not hold (yet) come after the known ones, premises without one last
    order = [*names, *sorted(set(by_section) - set(names) - {NO_SECTION}), NO_SECTION]
    parts = [CSS, "<div class='kc-board'>"]
    for section_id in order:
        by_floor = by_section.get(section_id)
        if not by_floor:
            continue
        floors = sorted(by_floor, reverse=True)
        # Width of the section = its widest residential floor; a long underground parking row wraps
        # under itself instead of pushing the next section off screen.
        above = [len(by_floor[f]) for f in floors if f >= 1]
        width = max(above or [len(by_floor[f]) for f in floors])
        row_px = width * (_CELL_PX + _GAP_PX)
        title = names.get(section_id, "Без секции" if section_id == NO_SECTION else "Секция")
        parts.append(f"<div class='kc-section'><div class='kc-sec-title'>{_text(title)}</div>")
        for floor in floors:
            row_cells = by_floor[floor]
            parts.append(
                f"<div class='kc-row'><div class='kc-floor'>{int(floor)}</div>"
                f"<div class='kc-cells' style='width:{int(row_px)}px'>"
            )
            for row in row_cells:
                status = _status(row)
                classes = f"kc-cell kc-{status}"
                if not bool(row.matches):
                    classes += " kc-dim"
                chosen = int(row.id) in marked
                if chosen:
                    classes += " kc-insel"
                tip = _tip(row) + ("\nВ вашей подборке" if chosen else "")
                parts.append(
                    f"<div class='{classes}' data-premise-id='{int(row.id)}' data-status='{status}' "
                    f"data-in-selection='{int(chosen)}' title='{escape(tip, quote=True)}'>"
                    f"<b>{_text(row.number, 12)}</b>"
                    f"<span>{escape(_short_rooms(row.type, row.rooms))}</span></div>"
                )
            parts.append("<div class='kc-gap'></div>" * max(0, width - len(row_cells)))
            parts.append("</div></div>")
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)


def building_header(info: Any) -> None:
    """The building above its board: address, floors, the project's срок сдачи and card, descriptions
    (`queries.chessboard.building`; None: the building left the cache)."""
    if info is None:
        return
    floors = "этажей: —" if info.number_of_floors is None else f"{fmt_whole(info.number_of_floors)} эт."
    text, action = st.columns([4, 1])
    text.markdown(
        f"**{md(info.address, limit=160)}** · {md(floors)} · проект «{md(info.project, limit=80)}» · "
        f"срок сдачи {md(fmt_date(info.end_date))}"
    )
    with action:
        open_project_button(info.project_id, info.city_id, key="cb_project")
    if info.brief_description:
        st.caption(md(info.brief_description, limit=600))
    if info.detailed_description:
        with st.expander("Описание здания"):
            st.markdown(md(info.detailed_description, limit=4000))


def highlighted(cells: pd.DataFrame) -> int | None:
    """The premise another page asked to outline, when it is on this board."""
    wanted = st.session_state.get(HIGHLIGHT_KEY)
    return int(wanted) if wanted is not None and int(wanted) in set(cells["id"].astype(int)) else None
