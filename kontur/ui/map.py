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

import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from kontur import ui
from kontur.config import Settings
from kontur.queries import PremiseFilters, availability
from kontur.ui.charts import plotly_text

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


def map_style(settings: Settings) -> dict[str, Any]:
    """An inline MapLibre style: the background always, raster tiles on top when configured."""
    layers: list[dict[str, Any]] = [
        {"id": "background", "type": "background", "paint": {"background-color": BACKGROUND}}
    ]
    # Never an empty `sources`: the figure's JSON drops an empty object, and MapLibre then rejects the
    # style («missing required property "sources"») on every update: «Map error.» in the browser.
    sources: dict[str, Any] = {
        "none": {"type": "geojson", "data": {"type": "FeatureCollection", "features": []}}
    }
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
    """`projects` (from `availability.project_map`) with `lat`/`lon` on a ring around their city's point."""
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


def _center(
    cities: pd.DataFrame, projects: pd.DataFrame, f: PremiseFilters
) -> tuple[dict[str, float], float]:
    """Where the map looks: the scope's project or city up close, else every city."""
    if f.scope.project_id is not None and len(projects):
        return {"lat": float(projects["lat"].iloc[0]), "lon": float(projects["lon"].iloc[0])}, 11.0
    lats, lons = cities["lat"].astype(float), cities["long"].astype(float)
    if len(cities) == 1:
        return {"lat": float(lats.iloc[0]), "lon": float(lons.iloc[0])}, 9.5
    if not len(cities):
        return {"lat": 57.0, "lon": 60.0}, 3.0
    span = max(float(lats.max() - lats.min()), float(lons.max() - lons.min()) / 1.6, 0.5)
    zoom = max(1.5, min(9.0, math.log2(360 / span) - 0.6))
    return {"lat": float((lats.max() + lats.min()) / 2), "lon": float((lons.max() + lons.min()) / 2)}, zoom


def figure(cities: pd.DataFrame, projects: pd.DataFrame, settings: Settings, f: PremiseFilters) -> go.Figure:
    """`cities` from `availability.city_map`, `projects` from `availability.project_map` (placed by
    `spread`)."""
    fig = go.Figure()
    fig.add_trace(
        go.Scattermap(
            name="Города",
            lat=cities["lat"].astype(float),
            lon=cities["long"].astype(float),
            mode="markers",
            marker={"size": _sizes(cities["free"], 14, 44), "color": CITY_COLOR, "opacity": 0.55},
            customdata=[["city", int(i)] for i in cities["id"]],
            hovertext=[
                f"{plotly_text(n, limit=60)}: свободно {ui.fmt_int(fr)} из {ui.fmt_int(t)}, проектов {p}"
                for n, fr, t, p in zip(
                    cities["name"], cities["free"], cities["premises"], cities["projects"], strict=True
                )
            ],
            hoverinfo="text",
        )
    )
    fig.add_trace(
        go.Scattermap(
            name="Проекты",
            lat=projects["lat"],
            lon=projects["lon"],
            mode="markers",
            marker={"size": _sizes(projects["free"], 7, 22), "color": PROJECT_COLOR, "opacity": 0.9},
            customdata=[["project", int(i)] for i in projects["id"]],
            hovertext=[
                f"{plotly_text(n, limit=60)} ({plotly_text(c, limit=40)}): "
                f"свободно {ui.fmt_int(fr)} из {ui.fmt_int(t)}"
                for n, c, fr, t in zip(
                    projects["name"], projects["city"], projects["free"], projects["premises"], strict=True
                )
            ],
            hoverinfo="text",
        )
    )
    center, zoom = _center(cities, projects, f)
    fig.update_layout(
        map={"style": map_style(settings), "center": center, "zoom": zoom},
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        height=420,
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


def _map(settings: Settings, f: PremiseFilters) -> tuple[pd.DataFrame, go.Figure] | None:
    cities = ui.read(availability.city_map, f)
    if cities.empty:
        return None
    projects = spread(ui.read(availability.project_map, f))
    return projects, figure(cities, projects, settings, f)


def map_of(f: PremiseFilters, tiles_url: str | None, style: str) -> tuple[pd.DataFrame, go.Figure] | None:
    """(the projects, the figure) of the map under `f`: through `ui.view`, built once per data
    version and map settings (the tiles are the only settings the figure holds)."""
    settings = ui.settings()
    if (settings.map_tiles_url, settings.map_style) != (tiles_url, style):
        settings = settings.model_copy(update={"map_tiles_url": tiles_url, "map_style": style})
    return _map(settings, f)


def stock_map(settings: Settings, f: PremiseFilters | None = None, *, key: str = "stock_map") -> None:
    """The map of the scope (every city when none is chosen), free stock under the page's filters `f`;
    a click on a city or project scopes the dashboard to it."""
    f = f or PremiseFilters(scope=ui.current_scope())
    drawn = ui.view(map_of, f, settings.map_tiles_url, settings.map_style)
    if drawn is None:
        st.caption("Нет городов с координатами.")
        return
    projects, fig = drawn
    event = st.plotly_chart(
        fig,
        key=key,
        on_select="rerun",
        selection_mode=("points",),
        config={"scrollZoom": True, "displaylogo": False},
    )
    choice = picked(event)
    if choice is not None and st.session_state.get(f"{key}_last") != choice:
        st.session_state[f"{key}_last"] = choice
        scope_to(*choice, projects)
        st.rerun(scope="app")  # the map may be drawn in a fragment: the new scope is the whole page's
    st.caption(
        "Размер точки — свободные помещения (с учётом фильтров). Щелчок по городу или проекту выбирает "
        "его в боковой панели."
    )
