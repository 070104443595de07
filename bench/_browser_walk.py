"""The managers' walk through the dashboard in Chromium, and how each step is timed.

A step is one input (a click, a key) and everything the app does about it. It is timed in the page
by `_browser_probe.js`: from the person's input event (for the first load: navigation start) to the
first paint after the script run that answers it has finished, with no stale element left. Both ends
are the page's own timestamps, so no fixed wait and no polling delay is in the figure.

The same walk drives the dashboard and the framework-floor app (`_browser_floor_app.py`), which
offers the same labels, so a step and its floor are the same browser actions.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, Page, expect

HERE = Path(__file__).resolve().parent
SELECT_ALL = re.compile(r"^\s*Select all", re.IGNORECASE)  # Streamlit 1.67: a multiselect's first entry
QUIET_MS = 400  # no DOM change this long after the idle point: the page has settled
VIEWPORT = {"width": 1440, "height": 2000}
# The flags Debian's Chromium needs on this closed network (shared/testing-notes.md).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@dataclass(frozen=True)
class Step:
    key: str
    page: str
    what: str
    comparable: bool = True  # has a framework-floor twin and a data floor
    single_only: bool = False  # not walked by the concurrent sessions (a sync; a page load they all do)

    @property
    def title(self) -> str:
        return f"{self.page}: {self.what}"


STEPS: tuple[Step, ...] = (
    Step("load", "Сегодня", "open the app (first load, the landing page)"),
    Step("av.first", "Наличие", "open (all cities)"),
    Step("av.city", "Наличие", "sidebar city"),
    Step("av.project", "Наличие", "sidebar project"),
    Step("av.building", "Наличие", "sidebar building"),
    Step("av.type", "Наличие", "type filter «Квартира»"),
    Step("av.price", "Наличие", "price slider, one step"),
    Step("av.card", "Наличие", "premise card (table row)"),
    Step("av.page", "Наличие", "premises list, next page"),
    Step("av.map", "Наличие", "view «Карта»"),
    Step("av.dist", "Наличие", "view «Цены и площади»"),
    Step("cb.open", "Шахматка", "open"),
    Step("cb.building", "Шахматка", "switch building"),
    Step("cb.premise", "Шахматка", "pick a free premise"),
    Step("cb.book", "Шахматка", "«Забронировать» → booking form"),
    Step("ld.open", "Сделки", "open"),
    Step("ld.agent", "Сделки", "filter by agent"),
    Step("ld.state", "Сделки", "filter by state"),
    Step("sh.open", "Синхронизация", "open"),
    Step("sh.sync", "Синхронизация", "«Синхронизировать» until done", comparable=False, single_only=True),
    Step("av.open", "Наличие", "open again (new data version)"),
    # The same browser opening the app again (a new session): its HTTP cache holds Streamlit's static
    # files (served `immutable`), as a manager's browser does on every visit after the first.
    Step("reload", "Сегодня", "open the app again (browser cache warm)", single_only=True),
)
LOADS = ("load", "reload")  # steps that are a page load: timed from navigation start
HEADINGS = {
    "Сегодня": "Сегодня",
    "Наличие": "Наличие помещений",
    "Шахматка": "Шахматка",
    "Сделки": "Сделки",
    "Синхронизация": "Синхронизация",
}


@dataclass(frozen=True)
class Variant:
    """The concrete choices of one walk (repeat r walks variant r): names as the widgets show them."""

    city_id: int
    city: str
    project_id: int
    project: str
    building_id: int
    building: str
    building2_id: int  # the chessboard switches to it
    building2: str
    agent_id: int  # the first (busiest) agent the «Агент» picker offers in the city/project
    premise_id: int  # the first free premise the chessboard offers in building2
    price: tuple[int, int]  # the price filter after one step of the slider's lower thumb
    state: str = "Активные"  # the first state the «Состояние» picker offers


@dataclass
class Timing:
    step: str
    ok: bool
    idle_ms: float | None = None  # input -> first paint after the answering run, nothing stale
    settled_ms: float | None = None  # input -> last DOM change (charts, images) before QUIET_MS quiet
    naive_ms: float | None = None  # what "wait 0.15 s, then until no stStatusWidget" would say
    server_ms: float | None = None  # the run(s) as the browser saw them: first start -> last finish
    send_ms: float | None = None  # input -> the rerun request left the browser
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def probe_script() -> str:
    """The in-page probe with the protobuf field numbers of the installed Streamlit."""
    from streamlit.proto import BackMsg_pb2, ClientState_pb2, ForwardMsg_pb2

    fwd, back = ForwardMsg_pb2.ForwardMsg.DESCRIPTOR, BackMsg_pb2.BackMsg.DESCRIPTOR
    meta = ForwardMsg_pb2.ForwardMsgMetadata.DESCRIPTOR
    run = meta.fields_by_name["run"].message_type
    client = ClientState_pb2.ClientState.DESCRIPTOR
    fields = {
        "fwd_metadata": fwd.fields_by_name["metadata"].number,
        "fwd_new_session": fwd.fields_by_name["new_session"].number,
        "fwd_script_finished": fwd.fields_by_name["script_finished"].number,
        "meta_run": meta.fields_by_name["run"].number,
        "run_script_run_id": run.fields_by_name["script_run_id"].number,
        "run_fragment_ids": run.fields_by_name["fragment_ids"].number,
        "back_rerun_script": back.fields_by_name["rerun_script"].number,
        "client_fragment_id": client.fields_by_name["fragment_id"].number,
        "client_is_auto_rerun": client.fields_by_name["is_auto_rerun"].number,
        "finished_early_for_rerun": ForwardMsg_pb2.ForwardMsg.FINISHED_EARLY_FOR_RERUN,
    }
    return (
        (HERE / "_browser_probe.js").read_text(encoding="utf-8").replace("__KB_FIELDS__", json.dumps(fields))
    )


async def new_session_page(context: BrowserContext) -> Page:
    page = await context.new_page()
    page.set_default_timeout(60_000)
    return page


# --- the inputs -------------------------------------------------------------------------------


def _labelled(page: Page, testid: str, label: str, *, sidebar: bool = False) -> Any:
    root = page.get_by_test_id("stSidebar") if sidebar else page.get_by_test_id("stMain")
    return root.get_by_test_id(testid).filter(has=page.get_by_text(label, exact=True))


async def pick(page: Page, testid: str, label: str, option: str | None, *, sidebar: bool = False) -> None:
    """Open a selectbox/multiselect and click the option named `option` (typed to filter the list;
    long lists are virtualised) or, when None, the first option — a person's, not the «Select all»
    entry Streamlit 1.67 puts first in a multiselect's list (that picked every agent, not one)."""
    await _labelled(page, testid, label, sidebar=sidebar).click()
    options = page.get_by_role("option").filter(has_not_text=SELECT_ALL)
    if option is not None:
        await page.keyboard.type(option)
        options = page.get_by_role("option", name=option, exact=True)
    await options.first.click()


async def nav(page: Page, title: str) -> None:
    await page.get_by_test_id("stSidebarNavLink").filter(has_text=title).click()


async def slider_step(page: Page, label: str) -> None:
    thumb = _labelled(page, "stSlider", label).get_by_role("slider").first
    await thumb.focus()
    await page.keyboard.press("ArrowRight")


async def table_row(page: Page) -> None:
    """Select the first row of the premises table (its selection box, left of the plan thumbnail);
    the grid is a canvas, so the click goes to a position (header 35 px, rows 56 px)."""
    table = page.get_by_test_id("stDataFrame").filter(has_text="Планировка")
    await table.scroll_into_view_if_needed()
    box = await table.bounding_box()
    if box is None:
        raise RuntimeError("the premises table is not on screen")
    await page.mouse.click(box["x"] + 18, box["y"] + 35 + 28)


async def view(page: Page, name: str) -> None:
    """Choose one of «Наличие»'s views (the segmented control above the breakdown)."""
    await page.get_by_test_id("stButtonGroup").get_by_text(name, exact=True).click()


# --- timing -----------------------------------------------------------------------------------


async def timed(page: Page, step: Step, act: Callable[[], Awaitable[None]], *, timeout_ms: float) -> Timing:
    """Do `act` and wait (on the page's own events) until the app has answered it."""
    first_load = step.key in LOADS
    start = 0 if first_load else await page.evaluate("__kb.arm()")
    try:
        await act()
        handle = await page.wait_for_function(
            "(a) => __kb.done(a)",
            arg={"from": start, "firstLoad": first_load},
            timeout=timeout_ms,
            polling=50,
        )
        done = await handle.json_value()
        if done.get("closed"):
            return Timing(step.key, ok=False, error="the app's WebSocket closed")
        settled = done["idle"]
        try:
            await page.wait_for_function(f"() => __kb.quiet({QUIET_MS})", timeout=5_000, polling=100)
            settled = max(settled, await page.evaluate("__kb.lastMutation"))
        except Exception:
            settled = None  # a page that never stops changing: no settled figure
        t0 = done["t0"]
        return Timing(
            step.key,
            ok=True,
            idle_ms=done["idle"] - t0,
            settled_ms=None if settled is None else settled - t0,
            naive_ms=done["naive"] - t0,
            server_ms=None if done["start"] is None else done["finish"] - done["start"],
            send_ms=done["send"] - t0,
            extra={"t0": t0, "from": start, "status": done["status"], "probe_ms": done["probe"]},
        )
    except Exception as exc:  # every failure is counted and reported, never hidden
        error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        with contextlib.suppress(Exception):
            error += f" — page: {await page.evaluate('(i) => __kb.explain(i)', start)}"
        return Timing(step.key, ok=False, error=error)


async def check(page: Page, step: Step) -> str | None:
    """What the step must have shown (checked after timing, never part of the figure)."""
    try:
        if await page.get_by_test_id("stException").count():
            text = await page.get_by_test_id("stException").first.inner_text()
            return "exception on the page: " + text.splitlines()[0][:200]
        if step.key in (*LOADS, "av.first", "av.open", "cb.open", "ld.open", "sh.open"):
            await expect(page.get_by_role("heading", name=HEADINGS[step.page]).first).to_be_visible()
        elif step.key == "av.card":
            await expect(page.locator(".st-key-av_card")).to_be_visible()
        elif step.key == "av.page":
            await expect(page.get_by_test_id("stPaginationPageActive")).to_have_text("2")
        elif step.key == "av.map":
            await expect(page.locator(".js-plotly-plot")).to_have_count(1)
        elif step.key == "av.dist":
            await expect(page.locator(".js-plotly-plot")).to_have_count(2)
        elif step.key == "cb.book":
            await expect(page.get_by_role("heading", name="Бронирования").first).to_be_visible()
        elif step.key == "sh.sync":
            await expect(page.get_by_test_id("stAlertContentSuccess").first).to_be_visible()
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return None


def actions(page: Page, url: str, v: Variant) -> dict[str, Callable[[], Awaitable[None]]]:
    """Each step's input, as a manager would give it."""

    async def load() -> None:
        await page.goto(url, wait_until="commit")

    async def close_menu() -> None:
        await page.keyboard.press("Escape")

    async def sync_until_done() -> None:
        await page.get_by_role("button", name="Синхронизировать").click()

    return {
        "load": load,
        "reload": load,
        "av.first": lambda: nav(page, "Наличие"),
        "av.city": lambda: pick(page, "stSelectbox", "Город", v.city, sidebar=True),
        "av.project": lambda: pick(page, "stSelectbox", "Проект", v.project, sidebar=True),
        "av.building": lambda: pick(page, "stSelectbox", "Здание", v.building, sidebar=True),
        "av.type": lambda: pick(page, "stMultiSelect", "Тип", "Квартира"),
        "av.price": lambda: slider_step(page, "Цена, млн ₽"),
        "av.card": lambda: table_row(page),
        "av.page": lambda: page.get_by_test_id("stPaginationNext").click(),
        "av.map": lambda: view(page, "Карта"),
        "av.dist": lambda: view(page, "Цены и площади"),
        "cb.open": lambda: nav(page, "Шахматка"),
        "cb.building": lambda: pick(page, "stSelectbox", "Здание", v.building2),
        "cb.premise": lambda: pick(page, "stSelectbox", "Свободное помещение", None),
        "cb.book": lambda: page.get_by_role("button", name="Забронировать").click(),
        "ld.open": lambda: nav(page, "Сделки"),
        "ld.agent": lambda: pick(page, "stMultiSelect", "Агент", None),
        "ld.state": lambda: pick(page, "stMultiSelect", "Состояние", None),
        "sh.open": lambda: nav(page, "Синхронизация"),
        "sh.sync": sync_until_done,
        "av.open": lambda: nav(page, "Наличие"),
        "_close_menu": close_menu,
    }


async def wait_sync_done(page: Page, since: int, timeout_ms: float) -> float:
    """After «Синхронизировать» (pressed at event index `since`): until the sync has ended and the
    whole app has rerun with the fresh data, the page quiet. Returns that paint's page time."""
    handle = await page.wait_for_function(
        f"(i) => __kb.quiet({QUIET_MS}) && __kb.lastFullRun(i)", arg=since, timeout=timeout_ms, polling=100
    )
    return float((await handle.json_value())["paint"])


async def walk(
    page: Page,
    url: str,
    v: Variant,
    *,
    steps: tuple[Step, ...],
    timeout_ms: float,
    on_step: Callable[[Step, Timing], None],
    stop: Callable[[], bool] = lambda: False,
    between: Callable[[], Awaitable[None]] | None = None,
) -> bool:
    """The walk, step by step; a failed step is reported and the walk goes on with the next one
    (a later step may then fail too: that is reported as well, never hidden). False when `stop`
    ended it early."""
    acts = actions(page, url, v)
    for n, step in enumerate(steps):
        if stop():
            return False
        if n and between is not None:
            await between()  # think time: a person reads the page before the next input
        timing = await timed(page, step, acts[step.key], timeout_ms=timeout_ms)
        if timing.ok and step.key == "sh.sync":
            # The click's own rerun is timed above; the sync itself runs in the background.
            try:
                end = await wait_sync_done(page, timing.extra["from"], timeout_ms)
                timing.extra["sync_ms"] = end - timing.extra["t0"]
            except Exception as exc:
                timing.ok, timing.error = False, f"sync did not finish: {type(exc).__name__}"
        if timing.ok:
            problem = await check(page, step)
            if problem:
                timing.ok, timing.error = False, problem
        on_step(step, timing)
        if step.key in ("av.type", "ld.agent", "ld.state"):
            await acts["_close_menu"]()  # a multiselect keeps its menu open after a choice
    return True
