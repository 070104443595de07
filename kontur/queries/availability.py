"""Availability page: stock by status and type, breakdowns, distributions, the premises list, the map."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ._db import Conn, frame
from .filters import PRICE_PER_M2, STATUS_SQL, Filters, PremiseFilters, premise_where, scope_where

# Breakdown level -> (grouping columns, their display aliases). Identifiers only, from this table.
BREAKDOWN_LEVELS: dict[str, tuple[str, ...]] = {
    "city": ("c.name AS city",),
    "project": ("c.name AS city", "pr.name AS project"),
    "building": ("c.name AS city", "pr.name AS project", "b.address AS building"),
}
_LEVEL_KEYS: dict[str, str] = {"city": "c.id", "project": "pr.id", "building": "b.id"}

# The premises list is shown a page at a time (every matching premise is reachable by pages); the
# CSV holds the first EXPORT_LIMIT of them in the same order.
PAGE_SIZE = 50
EXPORT_LIMIT = 10_000


@dataclass(frozen=True)
class Bounds:
    """Slider ranges within the current scope."""

    price: tuple[int, int]
    size: tuple[float, float]
    floor: tuple[int, int]
    rooms: tuple[int, ...]


def bounds(con: Conn, scope: Filters) -> Bounds | None:
    """None when the scope holds no premises."""
    where = scope_where(scope)
    row = con.execute(
        f"""
        SELECT min(price), max(price), min(size), max(size), min(floor), max(floor),
               list(DISTINCT rooms ORDER BY rooms) FILTER (WHERE rooms IS NOT NULL)
        FROM premises p WHERE {where.sql}
        """,  # noqa: S608 -- clauses are constant text from filters.py; values are parameters
        where.params,
    ).fetchone()
    if row is None or row[0] is None:
        return None
    return Bounds(
        price=(int(row[0]), int(row[1])),
        size=(float(row[2]), float(row[3])),
        floor=(int(row[4]), int(row[5])),
        rooms=tuple(int(r) for r in row[6] or ()),
    )


def status_by_type(con: Conn, f: PremiseFilters) -> pd.DataFrame:
    """type, status, n — one row per (type, status) that occurs among the matching premises."""
    where = premise_where(f)
    return frame(
        con,
        f"""
        SELECT p.type, {STATUS_SQL} AS status, count(*) AS n
        FROM premises p WHERE {where.sql}
        GROUP BY ALL ORDER BY ALL
        """,  # noqa: S608 -- constant clauses, parameterised values
        where.params,
    )


def breakdown(con: Conn, f: PremiseFilters, level: str) -> pd.DataFrame:
    """Per city / project / building: free, booked, sold, total, free_share. Premises are counted per
    (building, project, status flags) first, so the joins touch thousands of groups, not a million rows."""
    columns = ", ".join(BREAKDOWN_LEVELS[level])
    key = _LEVEL_KEYS[level]
    where = premise_where(f)
    return frame(
        con,
        f"""
        WITH g AS (
            SELECT p.building_id, p.project_id, p.is_sold, p.is_booked, count(*) AS n
            FROM premises p WHERE {where.sql} GROUP BY ALL
        )
        SELECT {columns},
               coalesce(sum(g.n) FILTER (WHERE NOT g.is_sold AND NOT g.is_booked), 0)::BIGINT AS free,
               coalesce(sum(g.n) FILTER (WHERE g.is_booked AND NOT g.is_sold), 0)::BIGINT AS booked,
               coalesce(sum(g.n) FILTER (WHERE g.is_sold), 0)::BIGINT AS sold,
               sum(g.n)::BIGINT AS total,
               free / total AS free_share
        FROM g
        JOIN buildings b ON b.id = g.building_id
        JOIN projects pr ON pr.id = g.project_id
        JOIN cities c ON c.id = pr.city_id
        GROUP BY {key}, {", ".join(col.split(" AS ")[0] for col in BREAKDOWN_LEVELS[level])}
        ORDER BY free DESC, total DESC
        """,  # noqa: S608 -- identifiers from BREAKDOWN_LEVELS, parameterised values
        where.params,
    )


# Distribution metric -> SQL expression over `premises p`.
# A premise of zero size has no price per m² (NULL), so it stays out of that histogram.
METRICS: dict[str, str] = {
    "price": "p.price::DOUBLE",
    "price_per_m2": "CASE WHEN p.size > 0 THEN p.price / p.size END",
}


def distribution(con: Conn, f: PremiseFilters, metric: str, bins: int = 30) -> pd.DataFrame:
    """A histogram computed in the database: bin_start, bin_end, status, n. Binning in SQL keeps a
    million premises from travelling to Python just to be counted."""
    expr = METRICS[metric]
    where = premise_where(f)
    return frame(
        con,
        f"""
        WITH m AS (
            SELECT * FROM (SELECT {expr} AS v, {STATUS_SQL} AS status FROM premises p WHERE {where.sql})
            WHERE v IS NOT NULL
        ),
             r AS (SELECT min(v) AS lo, greatest(max(v) - min(v), 1) / ? AS w FROM m)
        SELECT lo + bin * w AS bin_start, lo + (bin + 1) * w AS bin_end, status, count(*) AS n
        FROM (SELECT least(floor((v - lo) / w), ? - 1) AS bin, status, lo, w FROM m, r)
        GROUP BY ALL ORDER BY bin_start, status
        """,  # noqa: S608 -- expression from METRICS, parameterised values
        [*where.params, bins, bins],
    )


# The premise list's columns, over a CTE `p` of premises with their status and first photo.
_LIST_COLUMNS = f"""
    p.id, c.name AS city, pr.name AS project, b.address AS building,
    s.number AS section, p.number, p.type, p.rooms, p.floor, p.size, p.price,
    {PRICE_PER_M2} AS price_per_m2, p.status,
    p.feature, p.purchase_option, p.photo, pr.link AS link, pr.photo AS project_photo
"""
_LIST_FROM = """
    FROM p
    JOIN buildings b ON b.id = p.building_id
    JOIN projects pr ON pr.id = p.project_id
    JOIN cities c ON c.id = pr.city_id
    LEFT JOIN sections s ON s.id = p.section_id
"""
_LIST_SELECT = f"SELECT {_LIST_COLUMNS} {_LIST_FROM}"
_PREMISE_COLUMNS = (
    "p.id, p.project_id, p.building_id, p.section_id, p.number, p.type, p.rooms, p.floor, p.size, "
    f"p.price, {STATUS_SQL} AS status, p.feature, p.purchase_option, p.photos[1] AS photo"
)


def premises_list(con: Conn, f: PremiseFilters, limit: int = PAGE_SIZE, offset: int = 0) -> pd.DataFrame:
    """The matching premises, cheapest first (then by id: a stable order, so pages neither overlap
    nor skip), `limit` rows after the first `offset`. The page's ids are sorted out of `premises`
    alone, on two narrow columns (a deep page sorts a million keys, not a million wide rows: at
    scale 10 the last page takes ~90 ms instead of ~600), so the joins and the list columns touch
    `limit` rows only."""
    where = premise_where(f)
    return frame(
        con,
        f"""
        WITH page AS (
            SELECT p.id FROM premises p WHERE {where.sql} ORDER BY p.price, p.id LIMIT ? OFFSET ?
        ),
        p AS (SELECT {_PREMISE_COLUMNS} FROM page JOIN premises p ON p.id = page.id)
        {_LIST_SELECT}
        ORDER BY p.price, p.id
        """,  # noqa: S608 -- constant clauses, parameterised values
        [*where.params, limit, offset],
    )


# The card's extra columns: every photo, and where the premise sits (project, building, floors).
_CARD_EXTRA = (
    "p.photos, p.project_id, pr.city_id, p.building_id, pr.end_date, b.number_of_floors, "
    "b.brief_description AS building_brief"
)


def premise(con: Conn, premise_id: int) -> pd.DataFrame:
    """One premise with the list's columns and the card's (`photos`, `project_id`, `building_id`,
    `end_date`, `number_of_floors`, `building_brief`); none when the cache does not hold it."""
    return frame(
        con,
        f"WITH p AS (SELECT {_PREMISE_COLUMNS}, p.photos FROM premises p WHERE p.id = ?) "  # noqa: S608
        f"SELECT {_LIST_COLUMNS}, {_CARD_EXTRA} {_LIST_FROM}",
        [premise_id],
    )


def _per_project(where_sql: str) -> str:
    """The map's counts per project (premises matching the filters, and the free ones), as a CTE `fp`:
    the city map sums them per city, the project map places them."""
    return f"""fp AS (
            SELECT p.project_id, count(*) AS premises,
                   count(*) FILTER (WHERE NOT p.is_sold AND NOT p.is_booked) AS free
            FROM premises p WHERE {where_sql} GROUP BY ALL
        )"""  # noqa: S608 -- `where_sql` is premise_where's constant clauses; values stay parameters


def city_map(con: Conn, f: PremiseFilters) -> pd.DataFrame:
    """Per city with coordinates (the scope's city only, when one is chosen): id, name, lat, long,
    projects, premises (matching the filters), free (matching free premises)."""
    where = premise_where(f)
    return frame(
        con,
        f"""
        WITH {_per_project(where.sql)}
        SELECT c.id, c.name, c.lat, c.long, count(DISTINCT pr.id) AS projects,
               coalesce(sum(fp.premises), 0)::BIGINT AS premises, coalesce(sum(fp.free), 0)::BIGINT AS free
        FROM cities c
        LEFT JOIN projects pr ON pr.city_id = c.id
        LEFT JOIN fp ON fp.project_id = pr.id
        WHERE c.lat IS NOT NULL AND c.long IS NOT NULL
          AND (?::BIGINT IS NULL OR c.id = ?)
        GROUP BY ALL ORDER BY free DESC, c.id
        """,  # noqa: S608 -- constant clauses, parameterised values
        [*where.params, f.scope.city_id, f.scope.city_id],
    )


def project_map(con: Conn, f: PremiseFilters) -> pd.DataFrame:
    """Projects of cities with coordinates, within the scope: id, name, city_id, city, city_lat,
    city_lon, rank, of, premises, free (matching the filters), end_date. The contract gives projects
    no coordinates: `rank`/`of` (the project's place among its city's projects) let the map spread
    them around their city's point, each always at the same place."""
    where = premise_where(f)
    return frame(
        con,
        f"""
        WITH {_per_project(where.sql)},
        placed AS (
            SELECT pj.id, pj.name, pj.city_id, pj.end_date,
                   row_number() OVER (PARTITION BY pj.city_id ORDER BY pj.id) - 1 AS rank,
                   count(*) OVER (PARTITION BY pj.city_id) AS "of"
            FROM projects pj
        )
        SELECT pl.id, pl.name, pl.city_id, c.name AS city, c.lat AS city_lat, c.long AS city_lon,
               pl.rank, pl."of", coalesce(fp.premises, 0)::BIGINT AS premises,
               coalesce(fp.free, 0)::BIGINT AS free, pl.end_date
        FROM placed pl JOIN cities c ON c.id = pl.city_id LEFT JOIN fp ON fp.project_id = pl.id
        WHERE c.lat IS NOT NULL AND c.long IS NOT NULL
          AND (?::BIGINT IS NULL OR pl.city_id = ?) AND (?::BIGINT IS NULL OR pl.id = ?)
        ORDER BY c.name, pl.name, pl.id
        """,  # noqa: S608 -- constant clauses, parameterised values
        [*where.params, f.scope.city_id, f.scope.city_id, f.scope.project_id, f.scope.project_id],
    )
