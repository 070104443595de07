"""Concurrency mode of bench/browser.py at the protocol level: N people, N−1 of them without a browser.

On a 2-core machine 25 headless Chromiums starve the CPU and the run measures Chromium, not the
dashboard. In production each manager's browser runs on that manager's computer and only the server
is shared, so here N−1 sessions are `_proto_session.ProtoSession`s (Streamlit's own WebSocket
protocol, the requests a browser sends, no rendering) walking the same walk as the browser load
(`_browser_walk.STEPS` without «Синхронизировать», the same `Variant`s, staggered, looping with
think time), and one more session is a real Chromium (`_browser_load.walker`) walking meanwhile, so
the report shows both the server's step times under load and what one real browser felt.

The drift, the harness and the step log are `_browser_load`'s; the sync is the dashboard's own, by
schedule (`--sync-via schedule`) or by a protocol session pressing «Синхронизировать» every
`sync_every` seconds (`--sync-via button`). Each protocol step is checked as the browser walk checks
its steps (`_browser_walk.check`: the page's heading, the card, the booking form; no exception).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import Any, TextIO

import _proto_widgets as widgets
from _browser_load import LoadResult, deadline, drifter, drive, record, walker
from _browser_walk import HEADINGS, STEPS, Step, Timing, Variant
from _proto_page import MAIN, Node
from _proto_session import ProtoSession, StepResult
from playwright.async_api import Browser
from streamlit.proto.Alert_pb2 import Alert

PAGES = {"av.first": "Наличие", "cb.open": "Шахматка", "ld.open": "Сделки", "sh.open": "Синхронизация"}
PAGES["av.open"] = "Наличие"
SIDEBAR_SCOPE = {"av.city": "Город", "av.project": "Проект", "av.building": "Здание"}


def _option(node: Node, name: str) -> str:
    """The option a person picks by typing `name` (the browser clicks the option with that name)."""
    if name not in node.proto.options:
        raise LookupError(f"«{node.proto.label}» offers no «{name}»")
    return name


def _first_new(session: ProtoSession, node: Node) -> list[str]:
    """A multiselect after a click on the first option its open list offers (the chosen ones are not
    offered again). What the step means (`Variant.agent_id`, the data floor's one agent): the
    browser walk's `pick(…, None)` clicks the list's first entry, which Streamlit 1.67 makes a
    «Select all» bulk action when two or more options are left, so in Chromium it picks them all."""
    chosen = session.value(node) or []
    offered = [o for o in node.proto.options if o not in chosen]
    if not offered:
        raise LookupError(f"«{node.proto.label}» offers nothing more")
    return [*chosen, offered[0]]


async def act(session: ProtoSession, key: str, v: Variant) -> StepResult:
    """Step `key` of the walk with the choices of `v`, as `_browser_walk.actions` gives the input."""
    if key == "load":
        return await session.open()
    if key in PAGES:
        return await session.navigate(PAGES[key])
    try:
        if key in SIDEBAR_SCOPE:
            node = session.page.widget("selectbox", SIDEBAR_SCOPE[key], sidebar=True)
            name = {"av.city": v.city, "av.project": v.project, "av.building": v.building}[key]
            return await session.set_state(node, widgets.string(node.proto.id, _option(node, name)))
        if key == "av.type":
            node = session.page.widget("multiselect", "Тип")
            chosen = session.value(node) or []
            picked = chosen if "Квартира" in chosen else [*chosen, "Квартира"]
            return await session.set_state(node, widgets.strings(node.proto.id, picked))
        if key == "av.price":
            # ArrowRight on the lower thumb: one step up, the upper thumb stays
            node = session.page.widget("slider", "Цена, млн ₽")
            low, high = session.value(node)
            lower = min(round(low + node.proto.step, 10), high)
            return await session.set_state(node, widgets.doubles(node.proto.id, [lower, high]))
        if key == "av.card":
            node = session.page.table("Планировка")
            return await session.set_state(node, widgets.row_selection(node.proto.id, [0]))
        if key == "av.page":
            # the premises list's pager (`st.pagination`, no label): page 2, as a click on «2»
            pagers = session.page.elements("pagination")
            if not pagers:
                raise LookupError("no pager under the premises list")
            return await session.set_state(pagers[0], widgets.integer(pagers[0].proto.id, 2))
        if key in ("av.map", "av.dist"):
            # «Наличие»'s view switch (`st.segmented_control`): the option's label, as the button sends it
            node = session.page.widget("button_group", "Вид")
            name = "Карта" if key == "av.map" else "Цены и площади"
            return await session.set_state(node, widgets.strings(node.proto.id, [name]))
        if key == "cb.building":
            node = session.page.widget("selectbox", "Здание")
            return await session.set_state(node, widgets.string(node.proto.id, _option(node, v.building2)))
        if key == "cb.premise":
            node = session.page.widget("selectbox", "Свободное помещение")
            if not node.proto.options:
                raise LookupError("«Свободное помещение» offers nothing")
            return await session.set_state(node, widgets.string(node.proto.id, node.proto.options[0]))
        if key == "cb.book":
            return await session.click(session.page.widget("button", "Забронировать"))
        if key in ("ld.agent", "ld.state"):
            node = session.page.widget("multiselect", "Агент" if key == "ld.agent" else "Состояние")
            return await session.set_state(node, widgets.strings(node.proto.id, _first_new(session, node)))
    except LookupError as exc:
        return StepResult(ok=False, error=str(exc))
    raise ValueError(f"no protocol action for step {key}")


def check(session: ProtoSession, step: Step) -> str | None:
    """What the step must have shown, as `_browser_walk.check` asks the browser."""
    headings = session.page.headings()
    if step.key in ("load", *PAGES) and HEADINGS[step.page] not in headings:
        return f"no heading «{HEADINGS[step.page]}» (have {sorted(headings)[:4]})"
    if step.key == "av.card" and not any(n.key == "av_card" for n in session.page.elements("block")):
        return "no premise card"
    charts = {"av.map": 1, "av.dist": 2}.get(step.key)
    if charts is not None and len(session.page.elements("plotly_chart")) != charts:
        return f"{len(session.page.elements('plotly_chart'))} charts on the page, not {charts}"
    if step.key == "cb.book" and "Бронирования" not in headings:
        return "the booking form did not open"
    return None


def timing(step: Step, result: StepResult) -> Timing:
    return Timing(
        step.key,
        ok=result.ok,
        idle_ms=result.ms,
        server_ms=result.server_ms,
        error=result.error,
        extra={"bytes": result.bytes, "runs": result.runs, "via": "protocol"},
    )


async def proto_walker(
    i: int,
    url: str,
    walks: list[Variant],
    result: LoadResult,
    *,
    start_in: float,
    stop: Callable[[], bool],
    think: float,
    timeout_ms: float,
) -> None:
    """Session `i`: the walk in a loop, each loop a new session (the browser's walk starts with a
    page load) on the next variant, a think time between steps."""
    await asyncio.sleep(start_in)
    steps = tuple(s for s in STEPS if not s.single_only)
    rng = random.Random(i)
    session: ProtoSession | None = None
    loop = 0
    try:
        while not stop():
            v, whole = walks[(i + loop) % len(walks)], True
            for n, step in enumerate(steps):
                if stop():
                    whole = False
                    break
                if n:
                    await asyncio.sleep(rng.uniform(0.5, 1.5) * think)  # a person reads the page
                if step.key == "load":
                    if session is not None:
                        result.auto_reruns += session.auto_reruns
                        await session.close()
                    session = ProtoSession(url, timeout=timeout_ms / 1000)
                assert session is not None
                measured = timing(step, await act(session, step.key, v))
                problem = check(session, step) if measured.ok else None
                if problem:
                    measured.ok, measured.error = False, problem
                record(result, i, step, measured)
            loop += 1
            result.walks += whole
    finally:
        if session is not None:
            result.auto_reruns += session.auto_reruns
            await session.close()


def _sync_done(session: ProtoSession) -> bool:
    """The sync has ended and the whole app has rerun with it: no progress bar, the success
    message, no run under way."""
    alerts = session.page.elements("alert", root=MAIN)
    done = any(n.proto.format == Alert.SUCCESS for n in alerts)
    return done and not session.page.elements("progress") and session.idle()


async def proto_syncer(
    url: str, result: LoadResult, *, every: float, stop: Callable[[], bool], timeout_ms: float
) -> None:
    """One more person, on «Синхронизация», pressing «Синхронизировать» every `every` seconds."""
    session = ProtoSession(url, timeout=timeout_ms / 1000)

    def ready() -> bool:
        buttons = [n for n in session.page.elements("button") if n.proto.label == "Синхронизировать"]
        return bool(buttons) and not buttons[0].proto.disabled and session.idle()

    try:
        opened = await session.open()
        if opened.ok:
            opened = await session.navigate("Синхронизация")
        if not opened.ok:
            result.errors.append(f"syncer: cannot open «Синхронизация»: {opened.error}")
            return
        while not stop():
            started = time.monotonic()
            try:
                await session.wait_until(ready, timeout_ms / 1000)
                clicked = time.perf_counter()
                pressed = await session.click(session.page.widget("button", "Синхронизировать"))
                if not pressed.ok:
                    raise RuntimeError(pressed.error)
                await session.wait_until(lambda: _sync_done(session), timeout_ms / 1000)
                result.syncs_ms.append((time.perf_counter() - clicked) * 1000)
            except Exception as exc:  # every failure is counted and reported, never hidden
                result.errors.append(f"syncer: {type(exc).__name__}: {str(exc)[:200]}")
            await asyncio.sleep(max(0.0, every - (time.monotonic() - started)))
    finally:
        result.auto_reruns += session.auto_reruns
        await session.close()


async def run(
    browser: Browser,
    url: str,
    walks: list[Variant],
    probe: str,
    admin: Any,
    *,
    sessions: int,
    minutes: float,
    stagger: float,
    think: float,
    drift_every: float,
    drift_changes: int,
    sync_via: str,
    sync_every: float,
    timeout_ms: float,
    log: TextIO | None = None,
) -> LoadResult:
    """`sessions` people: sessions 0…N−2 over the protocol, session N−1 in Chromium, started last
    (once everyone else has) so it walks under the full load."""
    result = LoadResult(log=log)
    stop, started = deadline(minutes)
    common: dict[str, Any] = {"stop": stop, "think": think, "timeout_ms": timeout_ms}
    walkers = [
        proto_walker(i, url, walks, result, start_in=i * stagger, **common) for i in range(sessions - 1)
    ]
    last = sessions - 1
    walkers.append(walker(last, browser, url, walks, probe, result, start_in=last * stagger, **common))
    helpers = []
    if drift_every > 0:
        helpers.append(drifter(admin, result, every=drift_every, changes=drift_changes, stop=stop))
    if sync_via == "button":  # "schedule": the app syncs by itself; "none": nothing writes the cache
        helpers.append(proto_syncer(url, result, every=sync_every, stop=stop, timeout_ms=timeout_ms))
    return await drive(result, walkers, helpers, started)
