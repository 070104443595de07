"""Pictures for the PDF: premise plans fetched from their URLs, kept inert.

A plan's URL comes from Brusnika's data, so the server fetches it only when `safe_url` accepts it
(https, or http on the API's own host) *and* its host is the API's or one listed in
`KONTUR_MEDIA_HOSTS`: a record cannot make the dashboard fetch from an internal address. No redirects,
a short timeout, a size cap. An SVG is parsed with defusedxml and cut down to drawing elements (no
`<image>`, `<use>`, links, scripts, styles or external references) before fpdf2 draws it as vectors;
PNG and JPEG are checked by Pillow. Anything else is left out and the PDF says the plan is missing.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from xml.etree.ElementTree import Element, tostring

import httpx
from defusedxml import ElementTree as SafeET

from kontur.ui.safe import safe_url

log = logging.getLogger(__name__)

MAX_BYTES = 3_000_000
TIMEOUT = 5.0
SVG_NS = "http://www.w3.org/2000/svg"
# What a plan needs and nothing that can reach outside the file.
DRAWING_TAGS = frozenset(
    {
        "svg", "g", "rect", "line", "circle", "ellipse", "polygon", "polyline", "path", "text", "tspan",
        "title", "desc", "defs", "linearGradient", "radialGradient", "stop", "clipPath",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Picture:
    data: bytes
    kind: str  # "svg" | "png" | "jpeg"


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _inert_attr(name: str, value: str) -> bool:
    local = _local(name).lower()
    if local == "href" or local.startswith("on"):
        return False
    text = "".join(value.lower().split())
    if "@import" in text or "expression(" in text:
        return False
    # only references inside the file itself: url(#gradient)
    return all(part.startswith("#") for part in text.split("url(")[1:])


def clean_svg(data: bytes) -> bytes | None:
    """The SVG with only drawing elements and inert attributes, or None when it is not an SVG."""
    try:
        root = SafeET.fromstring(data)
    except Exception:  # defusedxml raises its own errors for entities and bombs, ParseError otherwise
        return None
    if _local(root.tag) != "svg":
        return None

    def prune(node: Element) -> None:
        # Plain tag names (ElementTree would write `ns0:` prefixes that SVG readers do not expect).
        node.tag = _local(node.tag)
        for child in list(node):
            if _local(child.tag) not in DRAWING_TAGS:
                node.remove(child)
                continue
            prune(child)
        for name, value in list(node.attrib.items()):
            if not _inert_attr(name, value) or "}" in name:
                del node.attrib[name]

    prune(root)
    root.set("xmlns", SVG_NS)
    return tostring(root, encoding="utf-8")


def _raster_kind(data: bytes) -> str | None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = (image.format or "").lower()
            image.verify()
    except Exception:
        return None
    return kind if kind in ("png", "jpeg") else None


def fetchable(url: object, *, api_url: str | None, media_hosts: Collection[str] = ()) -> str | None:
    """The absolute URL the server may fetch, or None: the pages' own rule (`safe_url`: the API's
    origin, or `https` on a media host), so the PDF never fetches what a page would not show."""
    return safe_url(url, api_url, media_hosts)


def fetch_picture(
    client: httpx.Client, url: object, *, api_url: str | None, media_hosts: Collection[str] = ()
) -> Picture | None:
    target = fetchable(url, api_url=api_url, media_hosts=media_hosts)
    if target is None:
        return None
    try:
        with client.stream("GET", target, follow_redirects=False, timeout=TIMEOUT) as response:
            if response.status_code != 200:
                return None
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_BYTES:
                    return None
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        log.info("plan for the PDF not fetched (%s): %s", type(exc).__name__, target)
        return None
    data = b"".join(chunks)
    if data.lstrip()[:5] in (b"<svg ", b"<?xml") or b"<svg" in data[:512]:
        cleaned = clean_svg(data)
        return None if cleaned is None else Picture(cleaned, "svg")
    kind = _raster_kind(data)
    return None if kind is None else Picture(data, kind)


def fetch_plans(
    photos_by_premise: Iterable[tuple[int, object]], *, api_url: str | None, media_hosts: Collection[str] = ()
) -> dict[int, Picture | None]:
    """The first usable picture of each premise (its plan, in the sandbox's order), None when none is."""
    out: dict[int, Picture | None] = {}
    with httpx.Client() as client:
        for premise_id, photos in photos_by_premise:
            urls = _as_list(photos)
            out[premise_id] = None
            for url in urls[:3]:
                picture = fetch_picture(client, url, api_url=api_url, media_hosts=media_hosts)
                if picture is not None:
                    out[premise_id] = picture
                    break
    return out


def _as_list(photos: object) -> list[object]:
    """A premise's `photos` as the cache hands it over: a list, a numpy array, or missing."""
    if photos is None:
        return []
    if hasattr(photos, "tolist"):
        photos = photos.tolist()
    return list(photos) if isinstance(photos, list | tuple) else []
