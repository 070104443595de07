"""The sandbox's inbound state: the generated world, one feed log per list, and the mutations that
business rules and drift apply to it (each re-renders the record at the sandbox clock's next tick).

Change hooks let a publisher (the Kafka one) follow the feeds: every hook is called with
`(entity, position)` after an entry is appended, and with `(None, None)` after a reset.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import secrets
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from kontur.models import ENTITIES

from . import render
from .data import BOOKED, FREE, PREMISE_TYPES, SOLD, World, generate
from .feed import BadCursor, CursorSigner, FeedLog, bulk_load

ChangeHook = Callable[[str | None, int | None], None]
_TOTAL_FIELDS = {"apartment": "total_apartment", "parking": "total_parking_space",
                 "storeroom": "total_storage", "commercial": "total_commercial"}
_TYPE_TOTAL = [_TOTAL_FIELDS[t] for t in PREMISE_TYPES]


class Store:
    def __init__(self, seed: int, scale: float, today: dt.date) -> None:
        self.seed, self.scale, self.today = seed, scale, today
        self.generation = 0
        self.hooks: list[ChangeHook] = []
        self._signer = CursorSigner(secrets.token_bytes(32))
        self._clock = 0
        self.reset()

    # -- lifecycle -------------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the generated world (same seed, scale and day); outstanding cursors expire."""
        world = self.world = generate(self.seed, self.scale, self.today)
        self.generation += 1
        self.feeds: dict[str, FeedLog] = {e: FeedLog() for e in ENTITIES}
        p = world.premises
        self.withdrawn = np.zeros(len(p.price), bool)
        self.slot_withdrawn = np.zeros(len(world.slots.day), bool)
        self.n_leads = len(world.leads.stage)
        self._load_small("cities", world.cities)
        self._load_small("projects", world.projects)
        self.free = np.zeros((len(world.buildings) + 1, len(PREMISE_TYPES)), np.int64)
        is_free = p.status == FREE
        np.add.at(self.free, (p.building_id[is_free], p.type[is_free]), 1)
        self._load_small("buildings", world.buildings, self._building_extra)
        self._load_small("sections", world.sections)
        self._load_columns("premises", p.updated_at, render.premise_rows)
        self._load_columns("leads", world.leads.updated_at, render.lead_rows)
        self._load_columns("time-slots", world.slots.updated_at, render.slot_rows)
        self._clock = max(self._clock, max(f.last_ts for f in self.feeds.values()))
        _release_free_heap()
        for hook in self.hooks:
            hook(None, None)

    def _building_extra(self, record: dict[str, Any]) -> dict[str, Any]:
        counts = self.free[record["id"]]
        return {**record, **{_TYPE_TOTAL[t]: str(int(counts[t])) for t in range(len(PREMISE_TYPES))}}

    def _load_small(self, entity: str, records: list[dict[str, Any]],
                    extra: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> None:
        ordered = sorted(records, key=lambda r: (r["_ts"], r["id"]))
        bodies = [render.plain(extra(r) if extra else r, r["_ts"]) for r in ordered]
        bulk_load(self.feeds[entity], [r["id"] for r in ordered], [r["_ts"] for r in ordered], bodies)

    def _load_columns(self, entity: str, updated_at: np.ndarray,
                      rows: Callable[[World, np.ndarray, np.ndarray], Any]) -> None:
        index = np.lexsort((np.arange(len(updated_at)), updated_at))
        ts = updated_at[index]
        bulk_load(self.feeds[entity], (index + 1).tolist(), ts.tolist(),
                  list(rows(self.world, index, ts)))

    # -- clock and appends -----------------------------------------------------------------------
    def tick(self) -> int:
        """Next sandbox time (µs): wall time, but strictly later than anything already served."""
        self._clock = max(time.time_ns() // 1000, self._clock + 1)
        return self._clock

    def _append(self, entity: str, record_id: int, ts: int, body: bytes,
                tombstone: bool = False) -> None:
        position = self.feeds[entity].append(record_id, ts, body, tombstone=tombstone)
        for hook in self.hooks:
            hook(entity, position)

    # -- reads -----------------------------------------------------------------------------------
    def page(self, entity: str, limit: int, cursor: str | None,
             updated_since: int | None) -> tuple[list[bytes], list[int], str | None]:
        """One list page: the items' JSON, their ids and the next cursor (None ends the feed)."""
        log = self.feeds[entity]
        index = ENTITIES.index(entity)
        if cursor is not None:
            snapshot, position = self._signer.decode(cursor, index, self.generation)
            if snapshot != (updated_since is None):
                raise BadCursor("cursor was issued for another updated_since mode")
        else:
            snapshot = updated_since is None
            position = 0 if snapshot else log.start_after(updated_since or 0)
        if position < 0 or position > len(log):
            raise BadCursor("cursor is not one this server issued")
        chunk = log.page(position, limit, snapshot=snapshot)
        token = None
        if chunk.next_position is not None:
            token = self._signer.encode(index, snapshot, chunk.next_position, self.generation)
        return chunk.items, chunk.ids, token

    def records(self, entity: str) -> bytes:
        return b"[" + b",".join(self.feeds[entity].iter_live()) + b"]"

    def exists(self, entity: str, record_id: int) -> bool:
        return self.feeds[entity].is_live(record_id)

    def stats(self) -> dict[str, Any]:
        return {
            "seed": self.seed, "scale": self.scale, "today": self.today.isoformat(),
            "generation": self.generation,
            "live": {e: int(sum(f.live)) for e, f in self.feeds.items()},
            "log_entries": {e: len(f) for e, f in self.feeds.items()},
            "last_updated_at": {e: render.ts_string(f.last_ts) if len(f) else None
                                for e, f in self.feeds.items()},
        }

    # -- premises --------------------------------------------------------------------------------
    def premise_status(self, index: int) -> int | None:
        """FREE/BOOKED/SOLD, or None for an unknown or withdrawn premise."""
        if not 0 <= index < len(self.withdrawn) or self.withdrawn[index]:
            return None
        return int(self.world.premises.status[index])

    def _render_premise(self, index: int) -> None:
        ts = self.tick()
        body = next(render.premise_rows(self.world, np.array([index]), np.array([ts], np.int64)))
        self._append("premises", index + 1, ts, body)

    def _render_building(self, building_id: int) -> None:
        record = self.world.buildings[building_id - 1]
        ts = self.tick()
        self._append("buildings", building_id, ts, render.plain(self._building_extra(record), ts))

    def _free_delta(self, index: int, delta: int) -> None:
        p = self.world.premises
        building = int(p.building_id[index])
        self.free[building, p.type[index]] += delta
        self._render_building(building)

    def set_premise_status(self, index: int, status: int) -> None:
        p = self.world.premises
        old = int(p.status[index])
        if old == status:
            return
        p.status[index] = status
        self._render_premise(index)
        if (old == FREE) != (status == FREE):
            self._free_delta(index, 1 if status == FREE else -1)

    def set_premise_price(self, index: int, price: int) -> None:
        self.world.premises.price[index] = price
        self._render_premise(index)

    def withdraw_premise(self, index: int) -> None:
        if self.withdrawn[index]:
            return
        self.withdrawn[index] = True
        ts = self.tick()
        self._append("premises", index + 1, ts, render.tombstone(index + 1, ts), tombstone=True)
        if self.world.premises.status[index] == FREE:
            self._free_delta(index, -1)

    # -- time slots ------------------------------------------------------------------------------
    def slot_booked(self, index: int) -> bool | None:
        slots = self.world.slots
        if not 0 <= index < len(slots.day) or self.slot_withdrawn[index]:
            return None
        return bool(slots.booked[index])

    def set_slot_booked(self, index: int, booked: bool) -> None:
        self.world.slots.booked[index] = booked
        ts = self.tick()
        body = next(render.slot_rows(self.world, np.array([index]), np.array([ts], np.int64)))
        self._append("time-slots", index + 1, ts, body)

    # -- leads -----------------------------------------------------------------------------------
    def render_lead(self, index: int) -> None:
        ts = self.tick()
        body = next(render.lead_rows(self.world, np.array([index]), np.array([ts], np.int64)))
        self._append("leads", index + 1, ts, body)

    def new_lead_index(self) -> int:
        """Room for one more lead at the end of the columns (grown in blocks, not per lead)."""
        leads = self.world.leads
        if self.n_leads == len(leads.stage):
            grow = max(1024, self.n_leads // 8)
            for name, column in vars(leads).items():
                setattr(leads, name, np.concatenate([column, np.zeros(grow, column.dtype)]))
        self.n_leads += 1
        return self.n_leads - 1


def _release_free_heap() -> None:
    """Hand the heap that rendering freed back to the OS (glibc keeps it otherwise: ~20% of RSS)."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


__all__ = ["BOOKED", "FREE", "SOLD", "BadCursor", "Store"]
