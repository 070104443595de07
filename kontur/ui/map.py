"""A real map of cities and projects (plotly `scatter_map` on MapLibre), sized by free stock, clickable
to scope the dashboard.

The map's style is built here, inline, rather than named: a plain background layer under a raster tile
layer (Carto or OpenStreetMap tiles, or a company's own `map_tiles_url`). MapLibre renders an inline
style at once, so with no network (a closed office network, a test browser) the tiles simply fail to
load and the points still render on the plain background; a *named* remote style would leave the map
empty. Projects have no coordinates in the contract: they are placed on a small ring around their
city's point, one position per project, so they can be told apart and clicked.
"""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from kontur import ui
from kontur.config import FeatureSettings
from kontur.queries import projects as projects_q
from kontur.ui.safe import plain

BACKGROUND = "#eef1f4"
TILES: dict[str, tuple[str, str]] = {
    "carto-positron": (
        "https://a.basemaps.cartocdn.com/light_all/{z}/{x}/{y}.png",
        "© OpenStreetMap contributors © CARTO",
    ),
    "carto-darkmatter": (
        "https://a.basemaps.cartocdn.com/dark_all/{z}/{x}/{y}.png",
        "© OpenStreetMap contributors © CARTO",
    ),
    "open-street-map": ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "© OpenStreetMap contributors"),
}
RING_DEG = 0.035  # how far from the city's point projects sit (≈ 3–4 km)
CITY_COLOR, PROJECT_COLOR = "#1f6f5c", "#d9822b"


def label(value: Any, limit: int) -> str:
    """Text for a hover label: plotly reads a subset of HTML there (`<a href>`, `<b>`), so partner text
    goes in as entities and shows exactly as typed."""
    return html.escape(plain(value, limit=limit), quote=False)


def map_style(settings: FeatureSettings) -> dict[str, Any]:
    """An inline MapLibre style: the background always, raster tiles on top when configured."""
    layers: list[dict[str, Any]] = [
        {"id": "background", "type": "background", "paint": {"background-color": BACKGROUND}}
    ]
    sources: dict[str, Any] = {}
    url, attribution = (
        (settings.map_tiles_url, "") if settings.map_tiles_url else TILES.get(settings.map_style, ("", ""))
    )
    if url:
        sources["tiles"] = {
            "type": "raster",
            "tiles": [url],
            "tileSize": 256,
            "attribution": attribution,
            "maxzoom": 19,
        }
        layers.append({"id": "tiles", "type": "raster", "source": "tiles"})
    return {"version": 8, "sources": sources, "layers": layers}


def spread(projects: pd.DataFrame) -> pd.DataFrame:
    """`projects` (from `project_points`) with `lat`/`lon` on a ring around their city's point."""
    out = projects.copy()
    angles = [2 * math.pi * int(r) / max(int(n), 1) for r, n in zip(out["rank"], out["of"], strict=True)]
    single = [int(n) == 1 for n in out["of"]]
    out["lat"] = [
        float(lat) + (RING_DEG * 0.6 if one else RING_DEG * math.sin(a))
        for lat, a, one in zip(out["city_lat"], angles, single, strict=True)
    ]
    out["lon"] = [
        float(lon) + (0.0 if one else RING_DEG * 1.6 * math.cos(a))
        for lon, a, one in zip(out["city_lon"], angles, single, strict=True)
    ]
    return out


def _sizes(free: pd.Series, low: float, high: float) -> list[float]:
    top = max(float(free.max()) if len(free) else 0.0, 1.0)
    return [low + (high - low) * math.sqrt(max(float(f), 0.0) / top) for f in free]


def figure(cities: pd.DataFrame, projects: pd.DataFrame, settings: FeatureSettings) -> go.Figure:
    fig = go.Figure()
    fig.add_trace(
        go.Scattermap(
            name="Города",
            lat=cities["lat"].astype(float),
            lon=cities["lon"].astype(float),
            mode="markers",
            marker={"size": _sizes(cities["free"], 14, 44), "color": CITY_COLOR, "opacity": 0.55},
            customdata=[["city", int(i)] for i in cities["id"]],
            hovertext=[
                f"{label(n, 60)}: свободно {ui.fmt_int(f)} из {ui.fmt_int(t)}, проектов {p}"
                for n, f, t, p in zip(
                    cities["name"], cities["free"], cities["premises"], cities["projects"], strict=True
                )
            ],
            hoverinfo="text",
        )
    )
    placed = spread(projects)
    fig.add_trace(
        go.Scattermap(
            name="Проекты",
            lat=placed["lat"],
            lon=placed["lon"],
            mode="markers",
            marker={"size": _sizes(placed["free"], 7, 22), "color": PROJECT_COLOR, "opacity": 0.9},
            customdata=[["project", int(i)] for i in placed["id"]],
            hovertext=[
                f"{label(n, 60)} ({label(c, 40)}): свободно {ui.fmt_int(f)} из {ui.fmt_int(t)}"
                for n, c, f, t in zip(
                    placed["name"], placed["city"], placed["free"], placed["premises"], strict=True
                )
            ],
            hoverinfo="text",
        )
    )
    center = (
        {"lat": float(cities["lat"].astype(float).mean()), "lon": float(cities["lon"].astype(float).mean())}
        if len(cities)
        else {"lat": 57.0, "lon": 60.0}
    )
    fig.update_layout(
        map={"style": map_style(settings), "center": center, "zoom": 3 if len(cities) > 1 else 9},
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        height=460,
        legend={"orientation": "h", "y": 1.0, "x": 0.0, "bgcolor": "rgba(255,255,255,0.7)"},
        clickmode="event+select",
    )
    return fig


def picked(event: Any) -> tuple[str, int] | None:
    """("city" | "project", id) of the first point the manager clicked or boxed, from Streamlit's event."""
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        return None
    for point in points:
        data = point.get("customdata")
        if isinstance(data, list | tuple) and len(data) == 2 and data[0] in ("city", "project"):
            return str(data[0]), int(data[1])
    return None


def scope_to(kind: str, item_id: int, projects: pd.DataFrame) -> None:
    """Narrow the sidebar scope (the keys `kontur.ui.sidebar_scope` re-seeds its widgets from)."""
    city_key, project_key, building_key = ui.SCOPE_KEYS
    if kind == "city":
        st.session_state[city_key] = item_id
        st.session_state[project_key] = None
    else:
        row = projects[projects["id"] == item_id]
        st.session_state[city_key] = None if row.empty else int(row["city_id"].iloc[0])
        st.session_state[project_key] = item_id
    st.session_state[building_key] = None


def stock_map(settings: FeatureSettings, *, key: str = "stock_map") -> None:
    """The map; a click on a city or project scopes the dashboard to it."""
    cities = ui.read(projects_q.city_points)
    projects = ui.read(projects_q.project_points, None)
    if cities.empty:
        st.caption("Нет городов с координатами.")
        return
    event = st.plotly_chart(
        figure(cities, projects, settings),
        key=key,
        on_select="rerun",
        selection_mode=("points",),
        config={"scrollZoom": True, "displaylogo": False},
    )
    choice = picked(event)
    if choice is not None and st.session_state.get(f"{key}_last") != choice:
        st.session_state[f"{key}_last"] = choice
        scope_to(*choice, projects)
        st.rerun()
    st.caption(
        "Размер точки — свободные помещения. Щелчок по городу или проекту выбирает его в боковой панели."
    )
