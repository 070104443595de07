"""Drift: N realistic changes so an incremental sync has something to carry (price edits, bookings
and sales, lead stage moves along the funnel, new leads, withdrawn premises, booked slots)."""

from __future__ import annotations

import itertools
import random
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from .app import SandboxState

KINDS = ("price", "premise_status", "lead_stage", "new_lead", "withdraw", "slot")
WEIGHTS = (0.35, 0.15, 0.25, 0.1, 0.05, 0.1)
_default_seeds = itertools.count(1)
_TRIES = 30  # random picks before a change kind gives up (e.g. no free premise left)


def apply(state: SandboxState, changes: int, seed: int | None = None) -> dict[str, int]:
    """Apply `changes` changes; returns how many feed entries each list gained."""
    store = state.store
    rng = random.Random(seed if seed is not None else next(_default_seeds) * 7919 + store.seed)
    before = {e: len(f) for e, f in store.feeds.items()}
    world = store.world
    p, slots = world.premises, world.slots
    n_premises, n_slots = len(p.price), len(slots.day)

    def pick_premise(wanted: tuple[int, ...]) -> int | None:
        for _ in range(_TRIES):
            i = rng.randrange(n_premises)
            if store.premise_status(i) in wanted:
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
                if store.slot_booked(i) is False:
                    store.set_slot_booked(i, True)
                    break
        elif kind == "lead_stage":
            _move_lead(store, rng)
        else:
            _new_lead(store, rng)
    return {e: len(f) - before[e] for e, f in store.feeds.items() if len(f) != before[e]}


def _move_lead(store: object, rng: random.Random) -> None:
    from .store import Store

    assert isinstance(store, Store)
    leads = store.world.leads
    for _ in range(_TRIES):
        i = rng.randrange(store.n_leads)
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


def _new_lead(store: object, rng: random.Random) -> None:
    from .store import Store

    assert isinstance(store, Store)
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
