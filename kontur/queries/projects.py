"""Project card: a project's own fields, its buildings with Brusnika's free counts beside the
counts computed from the premises in the cache (the map's points are `availability.city_map` and
`availability.project_map`).

Brusnika sends each building's free premises per type (`total_apartment`, `total_parking_space`,
`total_storage`, `total_commercial`, whole numbers as strings on the wire, numbers in the cache) and,
separately, every premise with its `is_booked`/`is_sold`. The two are sent at different moments, so
they can disagree; the card shows both and flags a difference, saying which side changed last.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ._db import Conn, frame, has_table

# premise type -> the building's column with Brusnika's own free count of that type (constant table)
TOTAL_COLUMNS: dict[str, str] = {
    "apartment": "total_apartment",
    "parking": "total_parking_space",
    "storeroom": "total_storage",
    "commercial": "total_commercial",
}


FREE = "NOT coalesce(p.is_booked, false) AND NOT coalesce(p.is_sold, false)"


@dataclass(frozen=True)
class ProjectInfo:
    id: int
    name: str
    city_id: int | None
    city: str | None
    brief_description: str | None
    detailed_description: str | None
    description: str | None
    end_date: dt.date | None
    photo: str | None
    link: str | None


@dataclass(frozen=True)
class TotalsMismatch:
    """One building and type where Brusnika's free count differs from the premises' count."""

    building_id: int
    address: str
    type: str
    brusnika: int | None
    computed: int
    building_updated_at: dt.datetime | None
    premises_updated_at: dt.datetime | None

    @property
    def newer_side(self) -> str:
        """ "building" or "premises": which record changed last (the other one is likely stale);
        "unknown" without timestamps."""
        if self.building_updated_at is None or self.premises_updated_at is None:
            return "unknown"
        return "building" if self.building_updated_at > self.premises_updated_at else "premises"


def project(con: Conn, project_id: int) -> ProjectInfo | None:
    if not has_table(con, "projects"):
        return None
    row = con.execute(
        """
        SELECT p.id, p.name, p.city_id, c.name, p.brief_description, p.detailed_description,
               p.description, p.end_date, p.photo, p.link
        FROM projects p LEFT JOIN cities c ON c.id = p.city_id WHERE p.id = ?
        """,
        [project_id],
    ).fetchone()
    return None if row is None else ProjectInfo(*row)


def project_of_building(con: Conn, building_id: int) -> int | None:
    if not has_table(con, "buildings"):
        return None
    row = con.execute("SELECT project_id FROM buildings WHERE id = ?", [building_id]).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def buildings(con: Conn, project_id: int) -> pd.DataFrame:
    """One row per building of the project: id, address, number_of_floors, brief_description,
    detailed_description, sections, premises, building_updated_at, premises_updated_at, and per type
    `brusnika_<type>` (Brusnika's free count, NULL when not sent) and `free_<type>` (free premises of
    that type in the cache)."""
    free_cols = ",\n".join(
        f"count(*) FILTER (WHERE p.type = ? AND {FREE}) AS free_{t}" for t in TOTAL_COLUMNS
    )
    brusnika_cols = ",\n".join(f"b.{col} AS brusnika_{t}" for t, col in TOTAL_COLUMNS.items())
    free_out = ", ".join(f"coalesce(ps.free_{t}, 0) AS free_{t}" for t in TOTAL_COLUMNS)
    return frame(
        con,
        f"""
        WITH ps AS (
            SELECT p.building_id, count(*) AS premises, max(p.updated_at) AS premises_updated_at,
                   {free_cols}
            FROM premises p WHERE p.project_id = ? GROUP BY p.building_id
        ),
        sec AS (
            SELECT s.building_id, count(*) AS sections FROM sections s
            WHERE s.building_id IN (SELECT id FROM buildings WHERE project_id = ?) GROUP BY s.building_id
        )
        SELECT b.id, b.address, b.number_of_floors, b.brief_description, b.detailed_description,
               coalesce(sec.sections, 0) AS sections, coalesce(ps.premises, 0) AS premises,
               b.updated_at AS building_updated_at, ps.premises_updated_at,
               {brusnika_cols},
               {free_out}
        FROM buildings b
        LEFT JOIN ps ON ps.building_id = b.id
        LEFT JOIN sec ON sec.building_id = b.id
        WHERE b.project_id = ?
        ORDER BY b.address, b.id
        """,  # noqa: S608 -- aliases and columns come from TOTAL_COLUMNS, values are parameters
        [*TOTAL_COLUMNS, project_id, project_id, project_id],
    )


def mismatches(rows: pd.DataFrame) -> list[TotalsMismatch]:
    """Every (building, type) of `buildings(...)` where Brusnika's count is missing or differs from the
    premises' count. A building with no premises and zero (or missing) totals is not a mismatch."""
    found: list[TotalsMismatch] = []
    for row in rows.itertuples(index=False):
        for t in TOTAL_COLUMNS:
            brusnika = _int_or_none(getattr(row, f"brusnika_{t}"))
            computed = int(getattr(row, f"free_{t}"))
            if brusnika == computed or (brusnika is None and computed == 0):
                continue
            found.append(
                TotalsMismatch(
                    building_id=int(row.id),
                    address=str(row.address),
                    type=t,
                    brusnika=brusnika,
                    computed=computed,
                    building_updated_at=_ts_or_none(row.building_updated_at),
                    premises_updated_at=_ts_or_none(row.premises_updated_at),
                )
            )
    return found


def _int_or_none(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _ts_or_none(value: Any) -> dt.datetime | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).to_pydatetime()
