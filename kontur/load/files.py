"""Page and batch files for DuckDB's `read_json`: written by fetch threads, read by the staging.

A REST page's items array is a byte slice of the page (no Python parsing); Kafka values are written
one per line (NDJSON). Files live in the run's batch directory next to the cache file and are removed
as soon as they are staged (a scale-10 sync must not keep gigabytes of pages on disk).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from .types import LoadError

# read_json's format for a file of one JSON array (a page's items) or of one item per line.
FORMATS = {False: "array", True: "newline_delimited"}

# The contract's page: {"items": [...], "next_cursor": "..." | null}. When a page has exactly that
# shape, the items array is a byte slice of it and DuckDB reads it as a JSON array of records — several
# times faster than unnesting a list inside one huge object, and no Python parsing at all.
_ENVELOPE_HEAD = re.compile(rb'\A\s*\{\s*"items"\s*:\s*\[')
_ENVELOPE_TAIL = re.compile(rb'\]\s*(,\s*"next_cursor"\s*:\s*(null|"[^"\\]*")\s*)?\}\s*\Z')


def items_array(content: bytes) -> bytes | None:
    """The bytes of a page's items array, or None when the page is not exactly the contract's shape."""
    head = _ENVELOPE_HEAD.match(content)
    end = content.rfind(b"]")
    if head is None or end < head.end() - 1 or not _ENVELOPE_TAIL.match(content, end):
        return None
    return content[head.end() - 1 : end + 1]


@dataclass
class Page:
    path: Path
    source: str
    # Per-item sources (Kafka topic/partition@offset) when the "page" is a bundle of single items.
    item_sources: Sequence[str] | None = None
    # Per-item raw bytes when built from single items (so a broken item is kept exactly as received).
    raw_items: Sequence[bytes] | None = None
    # One item per line instead of one list page per line (`BatchFiles.write_records`).
    lines: bool = False


@dataclass(frozen=True)
class Unparsable:
    """An item that is not JSON at all (a Kafka value); kept aside as received."""

    raw: bytes


class BatchFiles:
    """The files of one run (or one Staging of a Kafka session) in their own directory."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self._seq = itertools.count()

    def _next(self) -> Path:
        return self.dir / f"{next(self._seq)}.json"

    def write_page(self, content: bytes, source: str) -> Page:
        """One list page for DuckDB: its items array (a byte slice when the page has the contract's
        shape, else re-serialised by orjson), plus the page as received for the fallback."""
        items = items_array(content)
        if items is None:
            try:
                document = orjson.loads(content)
                listed = document.get("items") if isinstance(document, dict) else None
            except orjson.JSONDecodeError:
                listed = None
            if not isinstance(listed, list):
                raise LoadError(f"{source}: not a list page (no items array)")
            items = orjson.dumps(listed)
        page = self.write_array(items, source)
        page.path.with_suffix(".page").write_bytes(content)
        return page

    def write_array(self, items: bytes, source: str) -> Page:
        path = self._next()
        path.write_bytes(items)
        return Page(path, source)

    def write_records(self, items: Sequence[bytes], *, parts: int = 1) -> list[Path]:
        """Single JSON objects as NDJSON, split into `parts` files of consecutive items (DuckDB parses
        one such file on one thread, several in parallel). Safe to call from another thread."""
        paths = []
        for start, stop in bounds(len(items), parts):
            path = self._next()
            chunk = items[start:stop]
            # A raw newline cannot sit inside a JSON string, so newlines are whitespace: one item per
            # line. Items rarely hold one, so look at the joined bytes first (two C scans, no copy per item).
            content = b"\n".join(chunk)
            if content.count(b"\n") != len(chunk) - 1 or b"\r" in content:
                content = b"\n".join(v.replace(b"\n", b" ").replace(b"\r", b" ") for v in chunk)
            with path.open("wb") as file:  # two writes: `content + b"\n"` would copy it all once more
                file.write(content)
                file.write(b"\n")
            paths.append(path)
        return paths


def read_page_items(page: Page) -> list[Any]:
    """The items of a list page as parsed JSON (for the per-record fallback), or a LoadError."""
    original = page.path.with_suffix(".page")
    try:
        if original.exists():
            items = orjson.loads(original.read_bytes())["items"]
        else:
            items = orjson.loads(page.path.read_bytes())
        if not isinstance(items, list):
            raise TypeError("items is not a list")
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise LoadError(f"{page.source}: not a list page ({exc})") from None
    return items


def read_raw_items(raw_items: Sequence[bytes]) -> list[Any]:
    """Single items as parsed JSON; one that is not JSON at all stays `Unparsable`."""
    items: list[Any] = []
    for raw in raw_items:
        try:
            items.append(orjson.loads(raw))
        except orjson.JSONDecodeError:
            items.append(Unparsable(raw))
    return items


def bounds(count: int, parts: int) -> list[tuple[int, int]]:
    """[start, stop) of `parts` consecutive slices of `count` items, as even as can be. Slicing again
    into as many parts as this returned gives the same slices (so a reader recomputes them)."""
    size = -(-count // max(parts, 1)) if count else 0
    return [(start, min(start + size, count)) for start in range(0, count, size)] if size else [(0, 0)]


class SourceSlice(Sequence[str]):
    """A window on a sequence of sources, without building them (a Kafka batch's sources are made
    only for the records the load path rejects)."""

    def __init__(self, sources: Sequence[str], start: int, stop: int) -> None:
        self._sources, self._start, self._stop = sources, start, stop

    def __len__(self) -> int:
        return self._stop - self._start

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._sources[self._start + index]


def discard(path: Path) -> None:
    """Remove a batch file and the page it was cut from."""
    path.unlink(missing_ok=True)
    path.with_suffix(".page").unlink(missing_ok=True)
