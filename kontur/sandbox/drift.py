"""Drift: realistic changes so a sync has something to carry (price edits, bookings and sales, lead
stage moves along the funnel, new leads, withdrawn premises, booked slots).

`apply` makes N changes at once (`POST /admin/drift`); `ContinuousDrift` makes N per second on the
server's event loop until stopped (`--drift-per-second`, `POST /admin/drift/continuous`). Either way
each change is stamped with the sandbox clock at the moment it is made, which is the wall clock
(`Store.tick`), so a benchmark can measure change-to-cache delay from `updated_at`.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time

from .data import (
    BOOKED,
    DAY_US,
    FREE,
    FUNNEL_LEN,
    S_BOOKING,
    S_FELL_THROUGH,
    S_LOST,
    S_PAUSED,
    S_WON,
    SOLD,
)
from .store import Store

KINDS = ("price", "premise_status", "lead_stage", "new_lead", "withdraw", "slot")
WEIGHTS = (0.35, 0.15, 0.25, 0.1, 0.05, 0.1)
_default_seeds = itertools.count(1)
_TRIES = 30  # random picks before a change kind gives up (e.g. no free premise left)


def apply(
    store: Store, changes: int, seed: int | None = None, rng: random.Random | None = None
) -> dict[str, int]:
    """Apply `changes` changes; returns how many feed entries each list gained."""
    if rng is None:
        rng = random.Random(seed if seed is not None else next(_default_seeds) * 7919 + store.seed)
    before = {e: len(f) for e, f in store.feeds.items()}
    world = store.world
    p, slots = world.premises, world.slots
    n_premises, n_slots = len(p.price), len(slots.day)

    def pick_premise(wanted: tuple[int, ...]) -> int | None:
        for _ in range(_TRIES):
            i = rng.randrange(n_premises)
            if store.premise_status(i) in wanted and not store.is_edge("premises", i):
                return i
        return None

    for kind in rng.choices(KINDS, WEIGHTS, k=changes):
        if kind == "price":
            i = pick_premise((FREE, BOOKED))
            if i is not None:
                store.set_premise_price(i, int(round(int(p.price[i]) * rng.uniform(0.97, 1.06), -3)))
        elif kind == "premise_status":
            i = pick_premise((FREE, BOOKED))
            if i is not None:
                store.set_premise_status(i, BOOKED if p.status[i] == FREE else SOLD)
        elif kind == "withdraw":
            i = pick_premise((FREE,))
            if i is not None:
                store.withdraw_premise(i)
        elif kind == "slot":
            for _ in range(_TRIES):
                i = rng.randrange(n_slots)
                if store.slot_booked(i) is False and not store.is_edge("time-slots", i):
                    store.set_slot_booked(i, True)
                    break
        elif kind == "lead_stage":
            _move_lead(store, rng)
        else:
            _new_lead(store, rng)
    return {e: len(f) - before[e] for e, f in store.feeds.items() if len(f) != before[e]}


class ContinuousDrift:
    """`per_second` changes per second, spread over the second, until the rate is set to 0. Runs as a
    task on the server's event loop (where every other mutation runs), so it needs no lock."""

    TICK_S = 0.05  # the shortest pause between bursts: spreads a high rate over the second

    def __init__(self, store: Store) -> None:
        self.store = store
        self.per_second = 0.0
        self.applied = 0
        self._rng = random.Random(store.seed * 7919 + 1)
        self._task: asyncio.Task[None] | None = None

    def set_rate(self, per_second: float, seed: int | None = None) -> None:
        """Start, change or stop (0) the drift. Must be called on the event loop."""
        if per_second < 0:
            raise ValueError("per_second must be >= 0")
        if seed is not None:
            self._rng = random.Random(seed)
        self.per_second = per_second
        if per_second > 0 and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._run())

    def status(self) -> dict[str, float | int]:
        return {"per_second": self.per_second, "applied": self.applied}

    async def _run(self) -> None:
        owed = 0.0
        last = time.monotonic()
        while self.per_second > 0:
            await asyncio.sleep(max(self.TICK_S, min(1.0, 1.0 / self.per_second)))
            now = time.monotonic()
            owed += (now - last) * self.per_second
            last = now
            due = int(owed)
            if due:
                owed -= due
                apply(self.store, due, rng=self._rng)
                self.applied += due


def _move_lead(store: Store, rng: random.Random) -> None:
    leads = store.world.leads
    for _ in range(_TRIES):
        i = rng.randrange(store.n_leads)
        if not store.lead_exists(i) or store.is_edge("leads", i):
            continue
        stage = int(leads.stage[i])
        if stage >= S_WON and stage != S_PAUSED:
            continue  # won or lost: the funnel is over for this lead
        if stage == S_PAUSED:
            new = 1  # back to work
        elif rng.random() < 0.8:
            new = min(stage + 1, FUNNEL_LEN - 1)
        else:
            new = S_FELL_THROUGH if stage == S_BOOKING else rng.choice((S_LOST, S_PAUSED))
        leads.stage[i] = new
        leads.status_updated_at[i] = store.tick()
        store.render_lead(i)
        return


def _new_lead(store: Store, rng: random.Random) -> None:
    world = store.world
    i = store.new_lead_index()
    leads = world.leads
    client = rng.randrange(len(world.clients.agent_id))
    now = store.tick()
    leads.client_id[i] = client + 1
    leads.project_id[i] = rng.randint(1, len(world.projects))
    leads.premise_id[i] = 0
    leads.stage[i] = rng.choice((0, 1))
    leads.nps[i] = False
    leads.fee[i] = round(rng.uniform(80_000, 250_000), 2)
    leads.start_day[i] = now // DAY_US
    leads.status_updated_at[i] = now
    leads.agent_id[i] = world.clients.agent_id[client]
    leads.manager_id[i] = int(rng.choice(world.manager_ids)) if rng.random() < 0.85 else 0
    store.render_lead(i)
