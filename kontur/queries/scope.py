"""The sidebar's city → project → building choices, and whether the cache holds anything at all."""

from __future__ import annotations

import pandas as pd

from ._db import Conn, frame, has_table, scalar


def premises_count(con: Conn) -> int:
    """0 for an empty cache (or one whose tables do not exist yet)."""
    if not has_table(con, "premises"):
        return 0
    return int(scalar(con, "SELECT count(*) FROM premises") or 0)


def leads_count(con: Conn) -> int:
    if not has_table(con, "leads"):
        return 0
    return int(scalar(con, "SELECT count(*) FROM leads") or 0)


def cities(con: Conn) -> pd.DataFrame:
    """id, name — ordered by name."""
    if not has_table(con, "cities"):
        return pd.DataFrame({"id": [], "name": []})
    return frame(con, "SELECT id, name FROM cities ORDER BY name, id")


def projects(con: Conn, city_id: int | None) -> pd.DataFrame:
    """id, name, city_id — of one city, or all."""
    if not has_table(con, "projects"):
        return pd.DataFrame({"id": [], "name": [], "city_id": []})
    return frame(
        con,
        "SELECT id, name, city_id FROM projects WHERE ?::BIGINT IS NULL OR city_id = ? ORDER BY name, id",
        [city_id, city_id],
    )


def buildings(con: Conn, project_id: int | None, city_id: int | None = None) -> pd.DataFrame:
    """id, address, project_id, number_of_floors — of one project (or city, or all)."""
    if not has_table(con, "buildings"):
        return pd.DataFrame({"id": [], "address": [], "project_id": [], "number_of_floors": []})
    return frame(
        con,
        """
        SELECT b.id, b.address, b.project_id, b.number_of_floors
        FROM buildings b JOIN projects pr ON pr.id = b.project_id
        WHERE (?::BIGINT IS NULL OR b.project_id = ?) AND (?::BIGINT IS NULL OR pr.city_id = ?)
        ORDER BY b.address, b.id
        """,
        [project_id, project_id, city_id, city_id],
    )
