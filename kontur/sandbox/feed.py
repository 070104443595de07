"""Append-only feed log of one inbound entity, and the signed cursors that page through it.

Every record's JSON is rendered once. The log holds, in (updated_at, id) order, parallel arrays of
updated_at (µs since the epoch), id and two flag bytes, plus the rendered bytes. A mutation appends
a new entry and clears the flags of the record's previous entry, so the log stays sorted and a page
is a slice filtered by a flag array (``itertools.compress``): no per-request rendering, no sorting.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from array import array
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import compress


class BadCursor(ValueError):
    """A cursor this server did not issue (or issued for another list or another data generation)."""


@dataclass(frozen=True)
class PageSlice:
    items: list[bytes]
    ids: list[int]
    next_position: int | None  # None: the feed ends here


class FeedLog:
    """The feed of one entity. Not thread-safe: the server mutates it from the event loop only."""

    def __init__(self) -> None:
        self.ts = array("q")
        self.ids = array("q")
        # 1 where the entry is the current version of a live record: what a full snapshot serves.
        self.live = bytearray()
        # 1 where the entry is the current version (live record or tombstone): what
        # `updated_since` serves. Superseded entries have both flags 0.
        self.current = bytearray()
        self.body: list[bytes] = []
        # id -> position of its current entry (-1: never seen); ids are dense small integers.
        self._pos_of = array("q")

    def __len__(self) -> int:
        return len(self.body)

    @property
    def last_ts(self) -> int:
        return self.ts[-1] if self.ts else 0

    def position_of(self, record_id: int) -> int:
        if 0 <= record_id < len(self._pos_of):
            return self._pos_of[record_id]
        return -1

    def append(self, record_id: int, ts: int, body: bytes, *, tombstone: bool = False) -> int:
        """Add the record's new version at the end; `ts` must not go back in time."""
        if self.ts and ts < self.ts[-1]:
            raise ValueError("feed log must stay ordered by updated_at")
        old = self.position_of(record_id)
        if old >= 0:
            self.live[old] = 0
            self.current[old] = 0
        position = len(self.body)
        self.ts.append(ts)
        self.ids.append(record_id)
        self.live.append(0 if tombstone else 1)
        self.current.append(1)
        self.body.append(body)
        if record_id >= len(self._pos_of):
            grow = max(record_id + 1 - len(self._pos_of), len(self._pos_of) // 2 + 16)
            self._pos_of.extend([-1] * grow)
        self._pos_of[record_id] = position
        return position

    def is_live(self, record_id: int) -> bool:
        position = self.position_of(record_id)
        return position >= 0 and self.live[position] == 1

    def current_body(self, record_id: int) -> bytes | None:
        position = self.position_of(record_id)
        return self.body[position] if position >= 0 and self.live[position] else None

    def start_after(self, ts: int) -> int:
        """First position whose updated_at is strictly later than `ts`."""
        return bisect_right(self.ts, ts)

    def page(self, position: int, limit: int, *, snapshot: bool) -> PageSlice:
        flags = self.live if snapshot else self.current
        items: list[bytes] = []
        ids: list[int] = []
        end = len(self.body)
        # Each pass takes at most the number still wanted, so the page never overshoots `limit`.
        while len(items) < limit and position < end:
            stop = min(end, position + limit - len(items))
            chosen = flags[position:stop]
            items.extend(compress(self.body[position:stop], chosen))
            ids.extend(compress(self.ids[position:stop], chosen))
            position = stop
        more = position < end and flags.find(1, position) >= 0
        return PageSlice(items, ids, position if more else None)

    def iter_live(self) -> Iterator[bytes]:
        """Every live record's current JSON, in feed order."""
        return compress(self.body, self.live)

    def iter_from(self, position: int) -> Iterator[tuple[int, int, bytes | None]]:
        """(position, id, body or None for a tombstone) of current entries from `position` on: what a
        publisher (e.g. Kafka) replays after a snapshot or forwards after a change."""
        for index in range(position, len(self.body)):
            if self.current[index]:
                yield index, self.ids[index], self.body[index] if self.live[index] else None


_CURSOR = struct.Struct(">BBBqq")  # version, entity index, snapshot flag, position, generation


class CursorSigner:
    """Opaque cursors: a packed (entity, mode, position, generation) with a truncated HMAC, so a
    cursor the server did not issue, or one from before a reset, is refused with 400."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def encode(self, entity_index: int, snapshot: bool, position: int, generation: int) -> str:
        payload = _CURSOR.pack(1, entity_index, int(snapshot), position, generation)
        mac = hmac.new(self._key, payload, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(payload + mac).decode("ascii").rstrip("=")

    def decode(self, cursor: str, entity_index: int, generation: int) -> tuple[bool, int]:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (ValueError, TypeError) as exc:
            raise BadCursor("cursor is not one this server issued") from exc
        if len(raw) != _CURSOR.size + 12:
            raise BadCursor("cursor is not one this server issued")
        payload, mac = raw[: _CURSOR.size], raw[_CURSOR.size :]
        expected = hmac.new(self._key, payload, hashlib.sha256).digest()[:12]
        if not hmac.compare_digest(mac, expected):
            raise BadCursor("cursor is not one this server issued")
        version, index, snapshot, position, cursor_generation = _CURSOR.unpack(payload)
        if version != 1 or index != entity_index:
            raise BadCursor("cursor belongs to another list")
        if cursor_generation != generation:
            raise BadCursor("cursor was issued before the sandbox was reset")
        return bool(snapshot), position


def bulk_load(log: FeedLog, ids: list[int], ts: list[int], bodies: list[bytes]) -> None:
    """Fill an empty log with records already sorted by (updated_at, id): the generator's path."""
    if len(log):
        raise ValueError("bulk_load expects an empty log")
    log.ts.extend(ts)
    log.ids.extend(ids)
    log.live.extend(b"\x01" * len(ids))
    log.current.extend(b"\x01" * len(ids))
    log.body.extend(bodies)
    top = max(ids, default=0)
    log._pos_of = array("q", [-1]) * (top + 1)
    for position, record_id in enumerate(ids):
        log._pos_of[record_id] = position
