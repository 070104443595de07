"""Photo and link URLs from records, as the browser may be given them (`kontur.ui.safe.safe_url`).

The sandbox's records carry URLs relative to the API host (`/media/premises/1.svg`, see
kontur/sandbox/media.py): they are resolved against the API's origin. An absolute `https` URL on the
API's host or on a host in `KONTUR_MEDIA_HOSTS` (the real Brusnika's CDN) comes back unchanged.
Anything else (`javascript:`, `data:`, a foreign host, a missing photo, which reaches pandas as None
or NaN) is None: no picture, no link.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kontur.config import Settings

from .process import runtime
from .safe import safe_url


def media_urls(urls: Iterable[Any], settings: Settings | None = None) -> list[str | None]:
    """One settings read for the whole list: a table shows a thousand photos. `settings`: the
    runtime's, passed by code that runs outside a script run (a CSV made on click)."""
    settings = settings or runtime().settings
    base, hosts = settings.api_url, settings.media_hosts
    return [safe_url(u, base, hosts) for u in urls]


def media_url(url: Any) -> str | None:
    return media_urls([url])[0]
