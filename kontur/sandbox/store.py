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

from . import edge_cases, hostile, render
from .data import BOOKED, FREE, PREMISE_TYPES, SOLD, World, generate
from .feed import BadCursor, CursorSigner, FeedLog, bulk_load

ChangeHook = Callable[[str | None, int | None], None]
_TOTAL_FIELDS = {
    "apartment": "total_apartment",
    "parking": "total_parking_space",
    "storeroom": "total_storage",
    "commercial": "total_commercial",
}
_TYPE_TOTAL = [_TOTAL_FIELDS[t] for t in PREMISE_TYPES]


SMALL = ("cities", "projects", "buildings", "sections")  # kept as dicts in World lists, id = index + 1


class Store:
    def __init__(
        self, seed: int, scale: float, today: dt.date, *, edge_cases: bool = False, hostile: bool = False
    ) -> None:
        self.seed, self.scale, self.today = seed, scale, today
        self.edge_cases, self.hostile = edge_cases, hostile
        self.generation = 0
        self.hooks: list[ChangeHook] = []
        self._signer = CursorSigner(secrets.token_bytes(32))
        self._clock = 0
        self.reset()

    # -- lifecycle -------------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the generated world (same seed, scale and day); outstanding cursors expire."""
        world = self.world = generate(self.seed, self.scale, self.today)
        # Records --edge-cases added (at the end of each list): drift leaves them as they are.
        self.edge_ranges: dict[str, range] = {}
        if self.edge_cases:
            sizes = {
                "premises": len(world.premises.price),
                "leads": len(world.leads.stage),
                "time-slots": len(world.slots.day),
            }
            edge_cases.add(world, self.today)
            ends = {
                "premises": len(world.premises.price),
                "leads": len(world.leads.stage),
                "time-slots": len(world.slots.day),
            }
            self.edge_ranges = {e: range(sizes[e], ends[e]) for e in sizes}
        world.hostile = self.hostile
        self.generation += 1
        self.feeds: dict[str, FeedLog] = {e: FeedLog() for e in ENTITIES}
        p = world.premises
        self.withdrawn = np.zeros(len(p.price), bool)
        self.slot_withdrawn = np.zeros(len(world.slots.day), bool)
        self.n_leads = len(world.leads.stage)
        self.free = np.zeros((len(world.buildings) + 1, len(PREMISE_TYPES)), np.int64)
        is_free = p.status == FREE
        np.add.at(self.free, (p.building_id[is_free], p.type[is_free]), 1)
        for entity in SMALL:
            self._load_small(entity)
        self._load_columns("premises", p.updated_at, render.premise_rows)
        self._load_columns("leads", world.leads.updated_at, render.lead_rows)
        self._load_columns("time-slots", world.slots.updated_at, render.slot_rows)
        self._clock = max(self._clock, max(f.last_ts for f in self.feeds.values()))
        _release_free_heap()
        for hook in self.hooks:
            hook(None, None)

    def small_records(self, entity: str) -> list[dict[str, Any]]:
        return getattr(self.world, entity)  # type: ignore[no-any-return]

    def _small_body(self, entity: str, record: dict[str, Any], ts: int) -> bytes:
        if entity == "buildings":
            # Brusnika's free counts: derived from the premises, unless set through the admin API
            # (or by --edge-cases) to disagree with them.
            counts = self.free[record["id"]]
            record = {
                **record,
                **{_TYPE_TOTAL[t]: str(int(counts[t])) for t in range(len(PREMISE_TYPES))},
                **record.get("_totals", {}),
            }
        if self.hostile:
            record = hostile.rewrite(self.seed, entity, record)
        return render.plain(record, ts)

    def _load_small(self, entity: str) -> None:
        ordered = sorted(self.small_records(entity), key=lambda r: (r["_ts"], r["id"]))
        bodies = [self._small_body(entity, r, r["_ts"]) for r in ordered]
        bulk_load(self.feeds[entity], [r["id"] for r in ordered], [r["_ts"] for r in ordered], bodies)

    def _load_columns(
        self, entity: str, updated_at: np.ndarray, rows: Callable[[World, np.ndarray, np.ndarray], Any]
    ) -> None:
        index = np.lexsort((np.arange(len(updated_at)), updated_at))
        ts = updated_at[index]
        bulk_load(self.feeds[entity], (index + 1).tolist(), ts.tolist(), list(rows(self.world, index, ts)))

    def is_edge(self, entity: str, index: int) -> bool:
        edge = self.edge_ranges.get(entity)
        return edge is not None and index in edge

    # -- clock and appends -----------------------------------------------------------------------
    def tick(self) -> int:
        """Next sandbox time (µs): wall time, but strictly later than anything already served."""
        self._clock = max(time.time_ns() // 1000, self._clock + 1)
        return self._clock

    def _append(self, entity: str, record_id: int, ts: int, body: bytes, tombstone: bool = False) -> None:
        position = self.feeds[entity].append(record_id, ts, body, tombstone=tombstone)
        for hook in self.hooks:
            hook(entity, position)

    # -- reads -----------------------------------------------------------------------------------
    def page(
        self, entity: str, limit: int, cursor: str | None, updated_since: int | None
    ) -> tuple[list[bytes], list[int], str | None]:
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
            "seed": self.seed,
            "scale": self.scale,
            "today": self.today.isoformat(),
            "generation": self.generation,
            "live": {e: int(sum(f.live)) for e, f in self.feeds.items()},
            "log_entries": {e: len(f) for e, f in self.feeds.items()},
            "last_updated_at": {
                e: render.ts_string(f.last_ts) if len(f) else None for e, f in self.feeds.items()
            },
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

    def render_small(self, entity: str, record_id: int) -> None:
        """Serve a small record's current fields as a new version (a withdrawn one stays withdrawn)."""
        if not self.exists(entity, record_id):
            return
        ts = self.tick()
        record = self.small_records(entity)[record_id - 1]
        self._append(entity, record_id, ts, self._small_body(entity, record, ts))

    def _render_building(self, building_id: int) -> None:
        self.render_small("buildings", building_id)

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

    def render_premise(self, index: int) -> None:
        if self.premise_status(index) is not None:
            self._render_premise(index)

    def recount_free(self, index: int, before: tuple[int, int, bool]) -> None:
        """After a patch changed a premise's building, type or status: move its free count from
        `before` (building, type, was free) to where it is now, re-serving the buildings."""
        p = self.world.premises
        now = (int(p.building_id[index]), int(p.type[index]), int(p.status[index]) == FREE)
        if now == before:
            return
        if before[2]:
            self.free[before[0], before[1]] -= 1
        if now[2]:
            self.free[now[0], now[1]] += 1
        for building in {before[0], now[0]}:
            self._render_building(building)

    # -- modes and deletes -----------------------------------------------------------------------
    def set_hostile(self, on: bool) -> None:
        """Switch hostile text on or off at run time: every record whose text or URLs change is served
        again with a new updated_at, so incremental syncs and the Kafka publisher carry it."""
        if on == self.hostile:
            return
        self.hostile = self.world.hostile = on
        for entity in SMALL:
            for record in self.small_records(entity):
                self.render_small(entity, record["id"])
        for index in range(len(self.withdrawn)):
            if hostile.record_is_hostile(self.seed, "premises", index + 1):
                self.render_premise(index)

    def delete(self, entity: str, record_id: int) -> bool:
        """Withdraw a live record (a tombstone in the feeds); False when it is not live."""
        if not self.exists(entity, record_id):
            return False
        if entity == "premises":
            self.withdraw_premise(record_id - 1)
            return True
        if entity == "time-slots":
            self.slot_withdrawn[record_id - 1] = True
        ts = self.tick()
        self._append(entity, record_id, ts, render.tombstone(record_id, ts), tombstone=True)
        return True

    # -- time slots ------------------------------------------------------------------------------
    def slot_booked(self, index: int) -> bool | None:
        slots = self.world.slots
        if not 0 <= index < len(slots.day) or self.slot_withdrawn[index]:
            return None
        return bool(slots.booked[index])

    def set_slot_booked(self, index: int, booked: bool) -> None:
        self.world.slots.booked[index] = booked
        self.render_slot(index)

    def render_slot(self, index: int) -> None:
        if self.slot_withdrawn[index]:
            return
        ts = self.tick()
        body = next(render.slot_rows(self.world, np.array([index]), np.array([ts], np.int64)))
        self._append("time-slots", index + 1, ts, body)

    # -- leads -----------------------------------------------------------------------------------
    def lead_exists(self, index: int) -> bool:
        return 0 <= index < self.n_leads and self.exists("leads", index + 1)

    def render_lead(self, index: int) -> None:
        if self.feeds["leads"].position_of(index + 1) >= 0 and not self.lead_exists(index):
            return  # withdrawn through the admin API
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
