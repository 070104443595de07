"""Every photo of a premise (its `photos` list), not only the first: plan, floor plan, view. Each URL
passes `safe_url` (the API's host or `KONTUR_MEDIA_HOSTS`) or is not shown, and the card says how many
were left out.

Captions say what a picture is only when something says so: the file's name (`…/floor.svg`, `plan`,
`view`…) first, else its place in the list, which is the order Brusnika's premises (and the sandbox)
give them in — plan, floor plan, view. A fourth picture and beyond is «Фото N».
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import streamlit as st

from .media import media_urls

PLAN, FLOOR_PLAN, VIEW = "Планировка", "План этажа", "Вид"
BY_POSITION = (PLAN, FLOOR_PLAN, VIEW)
# Words in a file's name that say what it shows (checked in this order: «floor-plan» is a floor plan).
_BY_NAME: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"floor|etazh|этаж", re.IGNORECASE), FLOOR_PLAN),
    (re.compile(r"view|(?<![a-z])vid(?![a-z])|вид", re.IGNORECASE), VIEW),
    (re.compile(r"plan|layout|планиров", re.IGNORECASE), PLAN),
)


def photo_urls(photos: Any) -> list[object]:
    """The `photos` cell as the cache hands it over (list, numpy array, None/NaN) as a list."""
    if photos is None:
        return []
    if hasattr(photos, "tolist"):
        photos = photos.tolist()
    return list(photos) if isinstance(photos, list | tuple) else []


def caption(url: object, position: int) -> str:
    """What the picture at `position` (0-based) of a premise's `photos` shows, as far as is known."""
    try:
        path = urlsplit(url).path if isinstance(url, str) else ""
    except ValueError:  # a malformed URL (it is not shown either)
        path = ""
    # the last two path parts: the sandbox names `/media/premises/7/floor.svg`, a CDN `…/plan_7.jpg`
    for part in reversed(path.rsplit("/", 2)[-2:]):
        stem = part.rsplit(".", 1)[0]
        for pattern, text in _BY_NAME:
            if pattern.search(stem):
                return text
    return BY_POSITION[position] if position < len(BY_POSITION) else f"Фото {position + 1}"


def photo_gallery(photos: Any, *, columns: int = 3, width: int | str = "stretch") -> int:
    """Draw the photos in a grid, each captioned by what it shows; returns how many were shown."""
    urls = photo_urls(photos)
    if not urls:
        st.caption("Фотографий нет.")
        return 0
    shown = [
        (url, caption(raw, i)) for i, (raw, url) in enumerate(zip(urls, media_urls(urls), strict=True)) if url
    ]
    if shown:
        cells = st.columns(min(columns, len(shown)))
        for i, (url, text) in enumerate(shown):
            with cells[i % len(cells)]:
                st.image(url, caption=text, width=width)
    left_out = len(urls) - len(shown)
    if left_out:
        st.caption(f"Не показано фото: {left_out} — адрес не прошёл проверку безопасности.")
    return len(shown)
