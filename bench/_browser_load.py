"""Concurrency mode of bench/browser.py: N managers walking at once while the data moves.

Each session is a browser context of its own (its own cookies, its own Streamlit session), started
`stagger` seconds after the previous one, walking the walk (without «Синхронизировать») in a loop,
each loop on the next variant, with a think time between steps, until the time is up. Meanwhile:
- the sandbox drifts: `SandboxAdmin.drift(changes)` every `drift_every` seconds;
- the cache is written by the dashboard's own background sync: either the runtime's schedule
  (`--sync-via schedule`: the app runs with `KONTUR_SYNC_INTERVAL`; for when issue 12's scheduler has
  landed), or an extra browser context on «Синхронизация» pressing «Синхронизировать» every
  `sync_every` seconds (`--sync-via button`, what the app has today).
Errors (a step that timed out or failed its check, an exception block on the page, an uncaught
exception in the page's JavaScript, a closed WebSocket) are counted per kind; the target is 0.
The harness (`deadline`, `drive`), `record` and `drifter` are shared with the protocol-level load
(`_proto_load.py`), which drives the same server without a browser per person.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TextIO

from _browser_walk import STEPS, VIEWPORT, Step, Timing, Variant, nav, wait_sync_done, walk
from playwright.async_api import Browser, expect


@dataclass
class LoadResult:
    timings: list[tuple[int, Timing]] = field(default_factory=list)  # (session, timing)
    errors: list[str] = field(default_factory=list)
    walks: int = 0
    drifts: int = 0
    drift_changes: int = 0
    syncs_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    log: TextIO | None = None  # one JSON line per timed step, for a closer look after the run
    browser_sessions: set[int] = field(default_factory=set)  # sessions walked in Chromium
    auto_reruns: int = 0  # `run_every` fragment reruns the protocol sessions sent


async def _new_page(browser: Browser, probe: str, result: LoadResult, who: str) -> Any:
    context = await browser.new_context(viewport=VIEWPORT, locale="ru-RU", timezone_id="Asia/Yekaterinburg")
    await context.add_init_script(probe)
    page = await context.new_page()
    page.set_default_timeout(60_000)
    page.on("pageerror", lambda exc: result.errors.append(f"{who}: page error: {str(exc)[:200]}"))
    return context, page


def record(result: LoadResult, i: int, step: Step, timing: Timing) -> None:
    """One timed step of session `i`: kept, logged as a JSON line, and counted when it failed."""
    result.timings.append((i, timing))
    if result.log is not None:
        row = {
            "t": round(time.time(), 3),
            "session": i,
            "via": "browser" if i in result.browser_sessions else "protocol",
            "step": step.key,
            "ok": timing.ok,
            "idle_ms": timing.idle_ms,
            "server_ms": timing.server_ms,
            "error": timing.error,
            **{k: v for k, v in timing.extra.items() if k in ("bytes", "runs")},
        }
        result.log.write(json.dumps(row, ensure_ascii=False) + "\n")
        result.log.flush()
    if not timing.ok:
        result.errors.append(f"session {i}: {step.key}: {timing.error}")


async def walker(
    i: int,
    browser: Browser,
    url: str,
    walks: list[Variant],
    probe: str,
    result: LoadResult,
    *,
    start_in: float,
    stop: Callable[[], bool],
    think: float,
    timeout_ms: float,
) -> None:
    """Session `i` in a browser context of its own: the walk in a loop, each loop on the next variant."""
    result.browser_sessions.add(i)
    await asyncio.sleep(start_in)
    context, page = await _new_page(browser, probe, result, f"session {i}")
    steps = tuple(s for s in STEPS if not s.single_only)
    rng = random.Random(i)

    async def pause() -> None:
        await asyncio.sleep(rng.uniform(0.5, 1.5) * think)

    loop = 0
    try:
        while not stop():
            # A manager's sign-in would go here once the app requires it (see bench/browser.py).
            whole = await walk(
                page,
                url,
                walks[(i + loop) % len(walks)],
                steps=steps,
                timeout_ms=timeout_ms,
                on_step=lambda step, timing: record(result, i, step, timing),
                stop=stop,
                between=pause,
            )
            loop += 1
            result.walks += whole
    finally:
        await context.close()


async def syncer(
    browser: Browser,
    url: str,
    probe: str,
    result: LoadResult,
    *,
    every: float,
    stop: Callable[[], bool],
    timeout_ms: float,
) -> None:
    """One more person, on «Синхронизация», pressing «Синхронизировать» every `every` seconds."""
    context, page = await _new_page(browser, probe, result, "syncer")
    try:
        await page.goto(url)
        await expect(page.get_by_test_id("stSidebarNavLink").first).to_be_visible(timeout=timeout_ms)
        await nav(page, "Синхронизация")
        button = page.get_by_role("button", name="Синхронизировать")
        while not stop():
            started = time.monotonic()
            try:
                await expect(button).to_be_enabled(timeout=timeout_ms)
                since = await page.evaluate("__kb.arm()")
                clicked = await page.evaluate("performance.now()")
                await button.click()
                result.syncs_ms.append(await wait_sync_done(page, since, timeout_ms) - clicked)
            except Exception as exc:
                result.errors.append(f"syncer: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
            await asyncio.sleep(max(0.0, every - (time.monotonic() - started)))
    finally:
        await context.close()


async def drifter(
    admin: Any, result: LoadResult, *, every: float, changes: int, stop: Callable[[], bool]
) -> None:
    seed = 1
    while not stop():
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(admin.drift, changes, seed)
            result.drifts += 1
            result.drift_changes += changes
        except Exception as exc:
            result.errors.append(f"drift: {type(exc).__name__}: {exc}")
        seed += 1


def deadline(minutes: float) -> tuple[Callable[[], bool], float]:
    """(stop: whether the run's time is up, the loop time it started)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    return (lambda: loop.time() >= started + minutes * 60), started


async def drive(
    result: LoadResult,
    walkers: list[Coroutine[Any, Any, None]],
    helpers: list[Coroutine[Any, Any, None]],
    started: float,
) -> LoadResult:
    """Run the walkers to their end while the helpers (drift, syncs) go on; then stop the helpers."""
    tasks = [asyncio.create_task(h) for h in helpers]
    await asyncio.gather(*walkers)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    result.seconds = asyncio.get_running_loop().time() - started
    return result


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
    result = LoadResult(log=log)
    stop, started = deadline(minutes)
    walkers = [
        walker(
            i,
            browser,
            url,
            walks,
            probe,
            result,
            start_in=i * stagger,
            stop=stop,
            think=think,
            timeout_ms=timeout_ms,
        )
        for i in range(sessions)
    ]
    helpers = []
    if drift_every > 0:
        helpers.append(drifter(admin, result, every=drift_every, changes=drift_changes, stop=stop))
    if sync_via == "button":  # "schedule": the app syncs by itself; "none": nothing writes the cache
        helpers.append(
            syncer(browser, url, probe, result, every=sync_every, stop=stop, timeout_ms=timeout_ms)
        )
    return await drive(result, walkers, helpers, started)
