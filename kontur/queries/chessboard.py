"""Chessboard ("Матрица помещений на этажах"): one building's sections and premises."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from ._db import Conn, frame
from .filters import PRICE_PER_M2, STATUS_SQL, PremiseFilters, Where, premise_where


def sections(con: Conn, building_id: int) -> pd.DataFrame:
    """id, number, name, number_of_floors, premises_per_floor — left to right."""
    return frame(
        con,
        """
        SELECT id, number, name, number_of_floors, premises_per_floor
        FROM sections WHERE building_id = ? ORDER BY number, id
        """,
        [building_id],
    )


def cells(con: Conn, building_id: int, f: PremiseFilters) -> pd.DataFrame:
    """Every premise of the building with its status and `matches` (the page's type/feature/...
    filters; non-matching cells are dimmed, not hidden, so the floor plan keeps its shape)."""
    match: Where = premise_where(f, with_scope=False)
    return frame(
        con,
        f"""
        SELECT p.id, p.section_id, p.number, p.type, p.rooms, p.floor, p.size, p.price,
               {PRICE_PER_M2} AS price_per_m2, {STATUS_SQL} AS status, p.feature,
               coalesce(({match.sql}), false) AS matches
        FROM premises p
        WHERE p.building_id = ?
        ORDER BY p.section_id, p.floor DESC, regexp_replace(p.number, '[0-9]', '', 'g'),
                 try_cast(regexp_extract(p.number, '([0-9]+)', 1) AS BIGINT), p.number, p.id
        """,  # noqa: S608 -- constant clauses, parameterised values
        [*match.params, building_id],
    )


@dataclass(frozen=True)
class BuildingInfo:
    """What the chessboard says about the building above it."""

    id: int
    address: str | None
    number_of_floors: int | None
    brief_description: str | None
    detailed_description: str | None
    project_id: int | None
    project: str | None
    city_id: int | None
    end_date: dt.date | None


def building(con: Conn, building_id: int) -> BuildingInfo | None:
    row = con.execute(
        """
        SELECT b.id, b.address, b.number_of_floors, b.brief_description, b.detailed_description,
               b.project_id, pr.name, pr.city_id, pr.end_date
        FROM buildings b LEFT JOIN projects pr ON pr.id = b.project_id
        WHERE b.id = ?
        """,
        [building_id],
    ).fetchone()
    return None if row is None else BuildingInfo(*row)
