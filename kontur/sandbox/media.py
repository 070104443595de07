"""Pictures the sandbox serves itself, so photo thumbnails render on a machine without internet.

The contract types `photos`/`photo` as URL strings. The sandbox hands out *relative* URLs
(`/media/premises/123.svg`, `/media/projects/7.svg`) rather than absolute ones: a generated record
must be byte-identical whichever port the sandbox runs on (tests compare processes and runs), and a
relative reference is a valid URL reference (RFC 3986 §4.2). Consumers resolve it against the API's
origin (`kontur.ui.media_url`); an absolute URL from the real Brusnika passes through unchanged.

The pictures are small SVGs drawn from the record itself — a floor plan by premise type, rooms and
area; a facade per project — so they are deterministic and cost nothing to store. The routes take no
token: browsers load `<img>` sources without our bearer header, and the pictures hold nothing secret.
They are outside `/api/v1`, so faults do not touch them and the OpenAPI document does not list them.
"""

from __future__ import annotations

import random
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape

from fastapi import APIRouter
from starlette.responses import Response

from .data import PREMISE_TYPES, T_APARTMENT, T_COMMERCIAL, T_PARKING, T_STOREROOM

SVG = "image/svg+xml"
# The pictures change only with the premise's layout, which drift never touches.
CACHE_HEADERS = {"Cache-Control": "public, max-age=86400"}
W, H = 240, 180  # viewBox of every picture

PREMISE_PATH = "/media/premises/{premise_id}.svg"  # the plan; render.PREMISE_PHOTO_PATHS agrees
FLOOR_PATH = "/media/premises/{premise_id}/floor.svg"
VIEW_PATH = "/media/premises/{premise_id}/view.svg"
PROJECT_PATH = "/media/projects/{project_id}.svg"


def premise_url(premise_id: int) -> str:
    return PREMISE_PATH.format(premise_id=premise_id)


def project_url(project_id: int) -> str:
    return PROJECT_PATH.format(project_id=project_id)


def _num(value: float) -> str:
    """Russian decimal comma, one digit: 54.25 → «54,3»."""
    return f"{value:.1f}".replace(".", ",")


def _svg(body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" '
        f'font-family="sans-serif"><title>{escape(title)}</title>'
        f'<rect width="{W}" height="{H}" fill="#ffffff"/>{"".join(body)}</svg>'
    )


def _room(x: float, y: float, w: float, h: float, label: str, area: float | None, fill: str) -> str:
    text = f'<text x="{x + w / 2:.1f}" y="{y + h / 2:.1f}" font-size="9" text-anchor="middle" fill="#334">'
    text += escape(label)
    if area is not None:
        text += f'<tspan x="{x + w / 2:.1f}" dy="11" font-size="8" fill="#667">{_num(area)} м²</tspan>'
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}" '
        f'stroke="#2b3440" stroke-width="1.5"/>{text}</text>'
    )


def _caption(text: str) -> str:
    return (
        f'<text x="{W / 2}" y="{H - 8}" font-size="11" font-weight="bold" text-anchor="middle" '
        f'fill="#1d2530">{escape(text)}</text>'
    )


def _apartment(rooms: int, size: float) -> list[str]:
    """Living rooms and a kitchen along the windows, hall and bathroom behind them; areas split the
    premise's own area by typical shares, so the plan agrees with the record."""
    x0, y0, w, h = 12.0, 10.0, W - 24.0, H - 40.0
    back = h * 0.32  # hall + bathroom strip
    front = h - back
    names = ["Кухня-гостиная"] if rooms == 0 else ["Кухня", *(["Комната"] * rooms)]
    weights = [1.0] if rooms == 0 else [0.8, 1.25, *([1.0] * (rooms - 1))]
    living = size * 0.78
    out: list[str] = []
    x = x0
    for name, weight in zip(names, weights, strict=True):
        part = w * weight / sum(weights)
        out.append(_room(x, y0, part, front, name, living * weight / sum(weights), "#f6f1e7"))
        # windows on the outer wall
        out.append(
            f'<line x1="{x + part * 0.25:.1f}" y1="{y0}" x2="{x + part * 0.75:.1f}" y2="{y0}" '
            'stroke="#7cc0f0" stroke-width="4"/>'
        )
        x += part
    bath = w * 0.3
    out.append(_room(x0, y0 + front, bath, back, "С/у", size * 0.07, "#e6f0f7"))
    out.append(_room(x0 + bath, y0 + front, w - bath, back, "Прихожая", size * 0.15, "#efeee9"))
    return out


def _parking() -> list[str]:
    x0, y0, w, h = 60.0, 12.0, 120.0, H - 44.0
    return [
        _room(x0, y0, w, h, "", None, "#eceff2"),
        f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y0 + h}" stroke="#f2c230" stroke-width="4"/>',
        f'<line x1="{x0 + w}" y1="{y0}" x2="{x0 + w}" y2="{y0 + h}" stroke="#f2c230" stroke-width="4"/>',
        f'<rect x="{x0 + 25}" y="{y0 + 18}" width="{w - 50}" height="{h - 36}" rx="14" fill="#9aa7b4"/>',
        f'<text x="{W / 2}" y="{y0 + h / 2 + 10}" font-size="30" font-weight="bold" text-anchor="middle" '
        'fill="#ffffff">P</text>',
    ]


def _storeroom(size: float) -> list[str]:
    side = 60 + min(size, 12) * 4
    x0, y0 = (W - side) / 2, 12 + (H - 44 - side) / 2
    shelves = "".join(
        f'<line x1="{x0 + 6}" y1="{y0 + side * k / 4:.1f}" x2="{x0 + side - 6}" y2="{y0 + side * k / 4:.1f}" '
        'stroke="#b08a5a" stroke-width="3"/>'
        for k in (1, 2, 3)
    )
    return [_room(x0, y0, side, side, "", None, "#f3ead9"), shelves]


def _commercial(size: float) -> list[str]:
    x0, y0, w, h = 12.0, 10.0, W - 24.0, H - 40.0
    return [
        _room(x0, y0, w * 0.8, h, "Торговый зал", size * 0.85, "#eef3ea"),
        _room(x0 + w * 0.8, y0, w * 0.2, h, "С/у", size * 0.05, "#e6f0f7"),
        # the glass shopfront along the street
        f'<line x1="{x0 + 8}" y1="{y0 + h}" x2="{x0 + w * 0.8 - 8}" y2="{y0 + h}" stroke="#7cc0f0" '
        'stroke-width="5"/>',
    ]


@lru_cache(maxsize=4096)
def premise_svg(ptype: str, rooms: int, size: float, number: str) -> str:
    """A floor plan of one premise, from what its record says."""
    kind = PREMISE_TYPES.index(ptype) if ptype in PREMISE_TYPES else T_APARTMENT
    if kind == T_PARKING:
        body, caption = _parking(), f"Машино-место {number}"
    elif kind == T_STOREROOM:
        body, caption = _storeroom(size), f"Кладовая {number} · {_num(size)} м²"
    elif kind == T_COMMERCIAL:
        body, caption = _commercial(size), f"Коммерция {number} · {_num(size)} м²"
    else:
        label = "Студия" if rooms == 0 else f"{rooms}-комн."
        body, caption = _apartment(rooms, size), f"Кв. {number} · {label} · {_num(size)} м²"
    return _svg([*body, _caption(caption)], caption)


@lru_cache(maxsize=1024)
def project_svg(project_id: int, name: str) -> str:
    """A facade for a project: a few towers of the project's own (seeded) heights and colours."""
    rng = random.Random(project_id)
    palette = [("#c9553d", "#e9d8c4"), ("#3d6b8c", "#dfe8ef"), ("#6b5a4a", "#efe6da"), ("#4a6b4f", "#e4eddf")]
    wall, window = rng.choice(palette)
    out = [
        f'<rect width="{W}" height="{H}" fill="#dcebf7"/>',
        f'<rect y="{H - 34}" width="{W}" height="34" fill="#cfd8c8"/>',
    ]
    x = 10.0
    while x < W - 30:
        tw = min(rng.uniform(34, 54), W - 10 - x)  # the last tower ends inside the picture
        floors = rng.randint(5, 14)
        th = floors * 9.0
        top = H - 34 - th
        out.append(f'<rect x="{x:.1f}" y="{top:.1f}" width="{tw:.1f}" height="{th:.1f}" fill="{wall}"/>')
        for f in range(floors):
            for c in range(int(tw // 10)):
                out.append(
                    f'<rect x="{x + 4 + c * 10:.1f}" y="{top + 3 + f * 9:.1f}" width="5" height="5" '
                    f'fill="{window}"/>'
                )
        x += tw + rng.uniform(4, 12)
    out.append(_caption(name))
    return _svg(out, name)


@lru_cache(maxsize=1024)
def floor_svg(per_floor: int, position: int, floor: int, number: str) -> str:
    """The floor plan of a premise's floor: a corridor with the floor's premises, this one marked."""
    per_floor = max(1, min(per_floor, 8))
    x0, y0, w, h = 12.0, 14.0, W - 24.0, H - 50.0
    cell = w / per_floor
    out = [
        f'<rect x="{x0}" y="{y0 + h * 0.62:.1f}" width="{w}" height="{h * 0.38:.1f}" fill="#efeee9" '
        'stroke="#2b3440" stroke-width="1"/>'
    ]
    for k in range(per_floor):
        fill = "#f2c230" if k == position % per_floor else "#f6f1e7"
        out.append(_room(x0 + k * cell, y0, cell, h * 0.62, "", None, fill))
    caption = f"Поэтажный план · {floor} этаж · № {number}"
    return _svg([*out, _caption(caption)], caption)


@lru_cache(maxsize=1024)
def view_svg(premise_id: int, floor: int) -> str:
    """A view from the window: the higher the floor, the lower the horizon and the more sky."""
    rng = random.Random(premise_id)
    horizon = H - 34 - min(max(floor, 1), 25) * 3.2
    out = [
        f'<rect width="{W}" height="{H}" fill="#bfe0f5"/>',
        f'<rect y="{horizon:.1f}" width="{W}" height="{H - horizon:.1f}" fill="#8fb48a"/>',
    ]
    x = 0.0
    while x < W:
        tw, th = rng.uniform(14, 30), rng.uniform(8, 40)
        out.append(
            f'<rect x="{x:.1f}" y="{horizon - th:.1f}" width="{tw:.1f}" height="{th:.1f}" fill="#9aa7b4"/>'
        )
        x += tw + rng.uniform(2, 10)
    caption = f"Вид из окна · {floor} этаж"
    return _svg([*out, _caption(caption)], caption)


def add_media_routes(app: Any, state: Any) -> None:
    """Unauthenticated GET routes for the pictures (see the module docstring)."""
    media = APIRouter(include_in_schema=False)

    @media.get(PREMISE_PATH)
    async def premise_picture(premise_id: int) -> Response:
        world = state.store.world
        index = premise_id - 1
        if not 0 <= index < len(world.premises.number) or not state.store.exists("premises", premise_id):
            return Response(status_code=404)
        p = world.premises
        svg = premise_svg(
            PREMISE_TYPES[int(p.type[index])], int(p.rooms[index]), float(p.size[index]), p.number[index]
        )
        return Response(svg.encode(), media_type=SVG, headers=CACHE_HEADERS)

    def live_index(premise_id: int) -> int | None:
        index = premise_id - 1
        if not 0 <= index < len(state.store.world.premises.number):
            return None
        return index if state.store.exists("premises", premise_id) else None

    @media.get(FLOOR_PATH)
    async def floor_picture(premise_id: int) -> Response:
        index = live_index(premise_id)
        if index is None:
            return Response(status_code=404)
        p, sections = state.store.world.premises, state.store.world.sections
        section = int(p.section_id[index])
        per_floor = int(sections[section - 1]["premises_per_floor"]) if section <= len(sections) else 4
        number = p.number[index]
        position = int(number) - 1 if number.isdigit() else 0
        svg = floor_svg(per_floor, position, int(p.floor[index]), number)
        return Response(svg.encode(), media_type=SVG, headers=CACHE_HEADERS)

    @media.get(VIEW_PATH)
    async def view_picture(premise_id: int) -> Response:
        index = live_index(premise_id)
        if index is None:
            return Response(status_code=404)
        svg = view_svg(premise_id, int(state.store.world.premises.floor[index]))
        return Response(svg.encode(), media_type=SVG, headers=CACHE_HEADERS)

    @media.get(PROJECT_PATH)
    async def project_picture(project_id: int) -> Response:
        projects = state.store.world.projects
        if not 0 < project_id <= len(projects):
            return Response(status_code=404)
        svg = project_svg(project_id, str(projects[project_id - 1]["name"]))
        return Response(svg.encode(), media_type=SVG, headers=CACHE_HEADERS)

    app.include_router(media)
