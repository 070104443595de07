"""Every photo of a premise (its `photos` list), not only the first: plans, floor plans, views. Each URL
passes `safe_url` or is not shown (and the page says how many were left out)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from kontur import ui
from kontur.ui.safe import safe_url


def photo_urls(photos: Any) -> list[object]:
    """The `photos` cell as the cache hands it over (list, numpy array, None/NaN) as a list."""
    if photos is None:
        return []
    if hasattr(photos, "tolist"):
        photos = photos.tolist()
    return list(photos) if isinstance(photos, list | tuple) else []


def photo_gallery(photos: Any, *, columns: int = 3, width: int | str = "stretch") -> int:
    """Draw the photos in a grid, captioned «Фото N из M»; returns how many were shown."""
    urls = photo_urls(photos)
    api_url = ui.runtime().settings.api_url
    shown = [u for u in (safe_url(url, api_url) for url in urls) if u]
    if not urls:
        st.caption("Фотографий нет.")
        return 0
    if shown:
        cells = st.columns(min(columns, len(shown)))
        for i, url in enumerate(shown):
            with cells[i % len(cells)]:
                st.image(url, caption=f"Фото {i + 1} из {len(shown)}", width=width)
    left_out = len(urls) - len(shown)
    if left_out:
        st.caption(f"Не показано фото: {left_out} — адрес не прошёл проверку безопасности.")
    return len(shown)
