"""The data floor of bench/browser.py: what a step's queries alone cost in DuckDB.

`reads()` is the table step → query calls: for each step of the walk, the `kontur.queries` (and
`kontur.forms.lookups`) calls the page makes on that rerun, with the arguments the page passes for
the walk's choices. The pages read through `st.cache_data` keyed by the data version, so a call
already made since the version last changed is a cache hit and costs no query: `misses()` replays the
walk in order and keeps, per step, only the calls the app really runs (form lookups are never
cached). The data floor of a step is the sum of those calls' medians on a cursor of the same cache
file, same arguments. When the dashboard runs with the trace launcher, the bench compares this table
with the calls the app actually made (`compare`), so a page that changed its reads is flagged.
"""

from __future__ import annotations

import math
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from _browser_walk import Step, Variant

from kontur.auth.scopes import ReadScope
from kontur.forms import lookups
from kontur.models import LeadState
from kontur.queries import Filters, LeadFilters, PremiseFilters, availability, chessboard, leads, scope
from kontur.queries import sync_health as sh

FIRST_STATE = next(iter(LeadState)).value
# Whose leads the walk's reader sees: the dashboard's default reader is an administrator (every lead).
EVERYONE = ReadScope.everyone()


@dataclass(frozen=True)
class Call:
    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    cached: bool = True  # through ui.read (st.cache_data); False: a form lookup, run every time
    store: bool = False  # reads Kontur's operational store first (the store, then the cache cursor)
    on_cache: bool = True  # with `store`: also takes the cache cursor after the store

    @property
    def name(self) -> str:
        return f"{self.fn.__module__.rsplit('.', 1)[1]}.{self.fn.__name__}"

    @property
    def key(self) -> tuple[str, str]:
        return self.name, repr(self.args)


# --- what each page reads ---------------------------------------------------------------------


def sidebar(s: Filters) -> list[Call]:
    return [
        Call(scope.cities),
        Call(scope.projects, (s.city_id,)),
        Call(scope.buildings, (s.project_id, s.city_id)),
        Call(sh.freshness),  # the sidebar's freshness line
    ]


def availability_page(s: Filters, f: PremiseFilters) -> list[Call]:
    return [
        *sidebar(s),
        Call(scope.premises_count),
        Call(availability.bounds, (s,)),
        Call(availability.status_by_type, (f,)),
        # one view at a time: «Разбивка» first, its first tab (by city) only; the list's first page
        Call(availability.breakdown, (f, "city")),
        Call(availability.premises_list, (f, availability.PAGE_SIZE, 0)),
    ]


def chessboard_page(s: Filters, building_id: int) -> list[Call]:
    return [
        *sidebar(s),
        Call(scope.premises_count),
        Call(scope.buildings, (s.project_id, s.city_id)),
        Call(chessboard.building, (building_id,)),
        Call(chessboard.sections, (building_id,)),
        Call(chessboard.cells, (building_id, PremiseFilters())),
    ]


def leads_page(s: Filters, agents: tuple[int, ...], states: tuple[str, ...]) -> list[Call]:
    base = LeadFilters(city_id=s.city_id, project_id=s.project_id)
    f = LeadFilters(city_id=s.city_id, project_id=s.project_id, agent_ids=agents, states=states)
    return [
        *sidebar(s),
        Call(scope.premises_count),
        Call(leads.start_bounds, (EVERYONE,)),
        Call(leads.people_options, (EVERYONE, "agent_id", base, "", agents)),
        Call(leads.people_options, (EVERYONE, "manager_id", base, "", ())),
        *(
            Call(fn, (EVERYONE, f))
            # below the funnel only the chosen section is read: the walk stays on the first one
            for fn in (leads.funnel, leads.stale_summary, leads.stale_leads)
        ),
    ]


def sync_page(s: Filters) -> list[Call]:
    return [
        *sidebar(s),
        Call(sh.entities),
        Call(sh.runs),
        Call(sh.rejected_count),
        Call(sh.kafka_lag),
        Call(sh.consumer_restarts),
        Call(sh.rejected),
    ]


def bookings_page(s: Filters, v: Variant) -> list[Call]:
    looked = [
        Call(lookups.premise, (v.premise_id,)),
        Call(lookups.cities),
        Call(lookups.projects, (v.city_id,)),
        Call(lookups.buildings, (v.project_id,)),
        Call(lookups.free_premises, (v.building2_id,)),
    ]
    # (the clients and the bookings made here come from the operational store: not in this run)
    return [*sidebar(s), *(Call(c.fn, c.args, cached=False) for c in looked)]


def reads(v: Variant) -> dict[str, list[Call]]:
    """Step → every read the page makes on the rerun that answers it (hits included)."""
    everywhere = Filters()
    city = Filters(v.city_id)
    project = Filters(v.city_id, v.project_id)
    building = Filters(v.city_id, v.project_id, v.building_id)
    building2 = Filters(v.city_id, v.project_id, v.building2_id)
    typed = PremiseFilters(scope=building, types=("apartment",))
    priced = PremiseFilters(scope=building, types=("apartment",), price=v.price)
    return {
        # «Сегодня», the landing page (its own reads are the store's)
        "load": [*sidebar(everywhere), Call(scope.premises_count)],
        "av.first": availability_page(everywhere, PremiseFilters()),
        "av.city": availability_page(city, PremiseFilters(scope=city)),
        "av.project": availability_page(project, PremiseFilters(scope=project)),
        "av.building": availability_page(building, PremiseFilters(scope=building)),
        "av.type": availability_page(building, typed),
        "av.price": availability_page(building, priced),
        "av.card": availability_page(building, priced),
        # fragment reruns: the list's (page 2; no card: page 2 has no picked row), then the views'
        "av.page": [
            Call(availability.premises_list, (priced, availability.PAGE_SIZE, availability.PAGE_SIZE))
        ],
        "av.map": [Call(availability.city_map, (priced,)), Call(availability.project_map, (priced,))],
        "av.dist": [Call(availability.distribution, (priced, m)) for m in ("price", "price_per_m2")],
        "cb.open": chessboard_page(building, v.building_id),
        "cb.building": chessboard_page(building2, v.building2_id),
        "cb.premise": chessboard_page(building2, v.building2_id),
        # the chessboard's run hands over to the booking page (st.switch_page)
        "cb.book": chessboard_page(building2, v.building2_id) + bookings_page(building2, v),
        "ld.open": leads_page(building2, (), ()),
        "ld.agent": leads_page(building2, (v.agent_id,), ()),
        "ld.state": leads_page(building2, (v.agent_id,), (v.state,)),
        "sh.open": sync_page(building2),
        "sh.sync": [],  # the click reruns only the button's fragment; the sync runs in the background
        "av.open": availability_page(building2, PremiseFilters(scope=building2)),
        "reload": [*sidebar(everywhere), Call(scope.premises_count)],
    }


def misses(walks: list[Variant], steps: Iterable[Step]) -> list[dict[str, list[Call]]]:
    """Per walk, step → the calls that run a query: the walks replayed in order (one dashboard
    process, freshly started) against a cache of what was read since the data version last changed.
    «Синхронизировать» changes the version, and the sync page it reruns reads afresh; everything
    read after that is still cached when the next walk (a new session) starts."""
    steps = tuple(steps)
    seen: set[tuple[str, str]] = set()
    out = []
    for v in walks:
        table = reads(v)
        plan: dict[str, list[Call]] = {}
        for step in steps:
            if step.key == "sh.sync":
                # the sync page's own reads after the sync; the sidebar's are made afresh by the next page
                here = Filters(v.city_id, v.project_id, v.building2_id)
                seen = {c.key for c in sync_page(here)} - {c.key for c in sidebar(here)}
                plan[step.key] = []
                continue
            run = []
            for call in table[step.key]:
                if not call.cached or call.key not in seen:
                    run.append(call)
                    if call.cached:
                        seen.add(call.key)
            plan[step.key] = run
        out.append(plan)
    return out


# --- the walk's choices, from the cache ---------------------------------------------------------


def variants(cur: Any, n: int) -> list[Variant]:
    """`n` walks, one per city in turn (busiest first); in each, the city's biggest project that has
    at least two buildings, its biggest building, and the next one for the chessboard's switch."""
    cities = cur.execute(
        "SELECT c.id, c.name FROM cities c JOIN projects pr ON pr.city_id = c.id "
        "JOIN premises p ON p.project_id = pr.id GROUP BY ALL ORDER BY count(*) DESC, c.id"
    ).fetchall()
    out = []
    for i in range(n):
        city_id, city = cities[i % len(cities)]
        rows = cur.execute(
            """
            WITH b AS (SELECT p.project_id, p.building_id, count(*) AS n FROM premises p
                       JOIN projects pr ON pr.id = p.project_id WHERE pr.city_id = ? GROUP BY ALL)
            SELECT b.project_id, pr.name, b.building_id, bl.address FROM b
            JOIN projects pr ON pr.id = b.project_id JOIN buildings bl ON bl.id = b.building_id
            WHERE b.project_id IN (SELECT project_id FROM b GROUP BY 1 HAVING count(*) >= 2)
            ORDER BY sum(b.n) OVER (PARTITION BY b.project_id) DESC, b.project_id, b.n DESC, b.building_id
            LIMIT 2
            """,
            [city_id],
        ).fetchall()
        if len(rows) < 2:
            raise SystemExit(f"{city}: no project with two buildings to walk through")
        (project_id, project, b1, addr1), (_, _, b2, addr2) = rows
        s = Filters(int(city_id), int(project_id), int(b1))
        bounds = availability.bounds(cur, s)
        lo, hi = math.floor(bounds.price[0] / 1e5) / 10, math.ceil(bounds.price[1] / 1e5) / 10
        # the lower thumb one step (0.1 mln) to the right, as pages/availability.py turns it into roubles
        price = (round((lo + 0.1) * 1e6), round(max(hi, lo + 0.1) * 1e6))
        base = LeadFilters(city_id=int(city_id), project_id=int(project_id))
        agent = int(leads.people_options(cur, EVERYONE, "agent_id", base).iloc[0]["id"])
        cells = chessboard.cells(cur, int(b2), PremiseFilters())
        free = cells[(cells["status"] == "free") & cells["matches"]]
        out.append(
            Variant(
                city_id=int(city_id),
                city=city,
                project_id=int(project_id),
                project=project,
                building_id=int(b1),
                building=addr1,
                building2_id=int(b2),
                building2=addr2,
                agent_id=agent,
                premise_id=int(free["id"].iloc[0]),
                price=price,
                state=FIRST_STATE,
            )
        )
    return out


def measure(
    cur: Any, plan: dict[str, list[Call]], runs: int = 3, store: Any = None
) -> tuple[dict[str, float], dict[str, float]]:
    """(step → data floor ms, call name+args → median ms): each distinct call timed `runs` times
    after one warm-up run (its first touch of the columns), as bench/pages.py does."""
    timed: dict[tuple[str, str], float] = {}
    for calls in plan.values():
        for call in calls:
            if call.key in timed:
                continue
            head = (store, cur) if call.store and call.on_cache else (store,) if call.store else (cur,)
            call.fn(*head, *call.args)
            samples = []
            for _ in range(runs):
                start = time.perf_counter()
                call.fn(*head, *call.args)
                samples.append((time.perf_counter() - start) * 1000)
            timed[call.key] = statistics.median(samples)
    per_step = {step: sum(timed[c.key] for c in calls) for step, calls in plan.items()}
    return per_step, {f"{name}{args}": ms for (name, args), ms in timed.items()}


def compare(expected: list[Call], traced: list[dict[str, Any]]) -> str | None:
    """None when the app ran the same functions (by name, with multiplicity) as the table says."""
    want = Counter(c.name for c in expected)
    got = Counter(str(t["fn"]) for t in traced)
    if want == got:
        return None
    missing, extra = want - got, got - want
    parts = []
    if missing:
        parts.append("table only: " + ", ".join(f"{k}×{n}" for k, n in sorted(missing.items())))
    if extra:
        parts.append("app only: " + ", ".join(f"{k}×{n}" for k, n in sorted(extra.items())))
    return "; ".join(parts)
