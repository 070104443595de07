"""A Streamlit protocol client: what one browser tab says to the dashboard, without the browser.

One `ProtoSession` is one person's tab. It talks to the server exactly as Streamlit's frontend does,
over the same WebSocket (`/_stcore/stream`) with Streamlit's own protobufs, so the server cannot tell
it from a browser and does the same work; what it skips is everything the browser does on its own
machine (parsing, React, painting), which in production runs on each manager's computer.

- Opening: `GET /_stcore/health` and `/_stcore/host-config` (as the frontend's first pings; the
  health answer sets the XSRF cookie), then the WebSocket with the subprotocols the frontend sends
  (`streamlit`, the XSRF token), the cookie and a same-origin `Origin`, then the first
  `BackMsg.rerun_script` (no page: the landing page).
- Every rerun carries a `ClientState` as `App.sendRerunBackMsg` builds it: the current page's script
  hash, every mounted widget's state (`_proto_widgets.seed` keeps them as the `WidgetStateManager`
  does), the fragment id when the widget lives in a fragment, the hashes of the cached messages, and
  the browser context (time zone, locale).
- Incoming `ForwardMsg`s are applied as the frontend applies them: deltas into the page's element
  tree (`_proto_page.Page`: stale nodes dropped when a run finishes, page nodes when it changes),
  `ref_hash` messages resolved from the forward-message cache (`ForwardMessageCache.ts`: cacheable
  messages kept, aged per finished run, their hashes sent back), `auto_rerun` timers that rerun a
  `run_every` fragment (as `App.handleAutoRerun`: a fragment tick is sent whatever is running).
- A step is timed from sending its `BackMsg` to receiving the `script_finished` of the run answering
  it (a run handing over through `st.rerun`/`st.switch_page` is followed to the run that ends it,
  as the browser probe `_browser_probe.js` does), with the bytes received meanwhile. An exception
  element, a compile error, a page not found, a closed socket, a run whose `script_finished` never
  comes (a fragment run started first: the server replaced the script runner and dropped it) or no
  answer in time is an error; a step with no answer says what did arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import _proto_widgets as widgets
import httpx
from _proto_cache import MessageCache
from _proto_page import Node, Page
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ContextInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

EARLY = ForwardMsg.FINISHED_EARLY_FOR_RERUN
DONE = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)
XSRF_COOKIE = "_streamlit_xsrf"


@dataclass
class Event:
    t: float  # time.perf_counter() when the message arrived
    kind: str  # "start" (new_session), "finish" (script_finished), "close"
    run: str = ""
    fragments: tuple[str, ...] = ()
    status: int | None = None
    received: int = 0  # bytes received on the socket up to and including this message


@dataclass
class StepResult:
    ok: bool
    ms: float | None = None  # request sent (or connecting began) -> answering script_finished received
    server_ms: float | None = None  # the answering run(s): first new_session -> that script_finished
    bytes: int = 0  # received between the request and that script_finished
    runs: int = 0  # script runs the step took (2 when one handed over to the next)
    error: str | None = None


@dataclass
class ProtoSession:
    url: str  # http://127.0.0.1:PORT
    timeout: float = 120.0  # seconds a step may take before it is an error
    timezone: str = "Asia/Yekaterinburg"
    locale: str = "ru-RU"
    page: Page = field(default_factory=Page)  # what the page shows
    states: dict[str, WidgetState] = field(default_factory=dict)  # widget id -> its current state
    pages: dict[str, str] = field(default_factory=dict)  # page title and url path -> script hash
    page_hash: str = ""  # the page being shown ("" before the first run: the landing page)
    main_hash: str = ""  # app.py's script hash
    problems: list[tuple[int, str]] = field(default_factory=list)  # (event index, what went wrong)
    received: int = 0
    auto_reruns: int = 0
    unknown_widgets: set[str] = field(default_factory=set)  # widget kinds sent without a state
    _events: list[Event] = field(default_factory=list)
    _ws: ClientConnection | None = None
    _reader: asyncio.Task | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _run: str = ""
    _fragments: tuple[str, ...] = ()
    _new_session_seen: bool = False  # since the last rerun request (App.hasReceivedNewSession)
    _cache: MessageCache = field(default_factory=MessageCache)
    _max_age: int = 2
    _timers: dict[str, tuple[float, asyncio.Task]] = field(default_factory=dict)
    _busy: bool = False

    # --- opening and closing ------------------------------------------------------------------

    async def open(self) -> StepResult:
        """Connect and run the landing page, as a page load does; timed from the first request."""
        t0 = time.perf_counter()
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                (await http.get(f"{self.url}/_stcore/health")).raise_for_status()
                (await http.get(f"{self.url}/_stcore/host-config")).raise_for_status()
                xsrf = http.cookies.get(XSRF_COOKIE)
            headers = {"Cookie": f"{XSRF_COOKIE}={xsrf}"} if xsrf else {}
            self._ws = await connect(
                self.url.replace("http", "ws", 1) + "/_stcore/stream",
                subprotocols=["streamlit", *([xsrf] if xsrf else [])],  # type: ignore[list-item]
                additional_headers=headers,
                origin=self.url,  # type: ignore[arg-type]
                max_size=None,  # a run's table can be megabytes, as for the browser
                open_timeout=self.timeout,
            )
        except (OSError, httpx.HTTPError, TimeoutError) as exc:
            return StepResult(ok=False, error=f"cannot connect: {type(exc).__name__}: {exc}")
        self._reader = asyncio.create_task(self._read(), name="proto-session-reader")
        return await self._step(lambda: self._rerun(""), fragment="", started=t0)

    async def close(self) -> None:
        for _, task in self._timers.values():
            task.cancel()
        self._timers.clear()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    # --- what a person does -------------------------------------------------------------------

    async def navigate(self, title: str) -> StepResult:
        """A click on a page in the sidebar navigation: the page's hash, and only the states of
        the widgets app.py itself draws (`App.onPageChange`)."""
        if title not in self.pages:
            return StepResult(ok=False, error=f"no page «{title}» in the navigation")
        shared = {n.proto.id for n in self.page.nodes.values() if n.script == self.main_hash and n.key}
        states = [s for wid, s in self.states.items() if wid in shared]
        return await self._step(lambda: self._rerun(self.pages[title], states=states), fragment="")

    async def set_state(self, node: Node, state: WidgetState) -> StepResult:
        """A widget given a new value: every state as it now is, rerun where the widget lives."""
        self.states[state.id] = state
        return await self._step(lambda: self._rerun(fragment=node.fragment), fragment=node.fragment)

    async def click(self, node: Node) -> StepResult:
        """A button: its trigger is sent once, with every other state, and then forgotten."""
        states = [*self.states.values(), widgets.trigger(node.proto.id)]
        send = lambda: self._rerun(fragment=node.fragment, states=states)  # noqa: E731
        return await self._step(send, fragment=node.fragment)

    # --- what the page shows ------------------------------------------------------------------

    def value(self, node: Node) -> Any:
        return widgets.value(self.states.get(node.proto.id))

    def shown_errors(self, since: int = 0) -> list[str]:
        """Exceptions on the page now, and whatever went wrong since event `since`."""
        return self.page.exceptions() + [text for at, text in self.problems if at >= since]

    def idle(self) -> bool:
        """No script run under way: the last run started has finished (not handed over)."""
        finished = set()
        for e in reversed(self._events):
            if e.kind == "finish" and e.status != EARLY:
                finished.add(e.run)
            elif e.kind == "start":
                return e.run in finished
        return False

    async def wait_until(self, condition: Callable[[], bool], timeout: float) -> None:
        """Until `condition()` holds after a message (TimeoutError after `timeout` seconds)."""
        deadline = time.perf_counter() + timeout
        while True:
            self._changed.clear()
            if condition():
                return
            if self._events and self._events[-1].kind == "close":
                raise ConnectionError("the WebSocket closed")
            await asyncio.wait_for(self._changed.wait(), max(0.0, deadline - time.perf_counter()))

    # --- sending ------------------------------------------------------------------------------

    async def _rerun(
        self,
        page_hash: str | None = None,
        *,
        fragment: str = "",
        states: list[WidgetState] | None = None,
        auto: bool = False,
    ) -> int:
        if self._ws is None:
            raise ConnectionError("not connected")
        msg = BackMsg()
        client = msg.rerun_script
        client.page_script_hash = self.page_hash if page_hash is None else page_hash
        client.widget_states.widgets.extend(self.states.values() if states is None else states)
        client.fragment_id = fragment
        client.is_auto_rerun = auto
        client.cached_message_hashes.extend(self._cache.hashes())
        client.context_info.CopyFrom(
            ContextInfo(timezone=self.timezone, timezone_offset=-300, locale=self.locale, url=self.url)
        )
        since = len(self._events)
        self._new_session_seen = False
        await self._ws.send(msg.SerializeToString())
        return since

    async def _step(
        self, send: Callable[[], Awaitable[int]], *, fragment: str, started: float = 0
    ) -> StepResult:
        self._busy = True
        try:
            t0, bytes0 = time.perf_counter(), self.received
            try:
                since = await send()
            except (ConnectionError, ConnectionClosed) as exc:
                return StepResult(ok=False, error=f"the WebSocket is closed: {type(exc).__name__}")
            deadline = t0 + self.timeout
            while True:
                self._changed.clear()
                answer = self._answer(since, fragment)
                if answer is not None:
                    break
                try:
                    await asyncio.wait_for(self._changed.wait(), max(0.0, deadline - time.perf_counter()))
                except TimeoutError:
                    error = f"no script_finished in {self.timeout:.0f} s; since: {self._explain(since)}"
                    return StepResult(ok=False, error=error)
            if answer in ("closed", "lost"):
                lost = "its script_finished never came (a fragment run started first)"
                return StepResult(ok=False, error="the WebSocket closed" if answer == "closed" else lost)
            first, last, runs = answer
            errors = self.shown_errors(since)
            return StepResult(
                ok=not errors,
                ms=(last.t - (started or t0)) * 1000,
                server_ms=(last.t - first.t) * 1000,
                bytes=last.received - bytes0,
                runs=runs,
                error="; ".join(errors)[:300] or None,
            )
        finally:
            self._busy = False

    def _answer(self, since: int, fragment: str) -> tuple[Event, Event, int] | str | None:
        """The run answering a request sent at event index `since`, as `_browser_probe.js` reads it:
        the first run started for that fragment, followed through hand-overs (finished early for a
        rerun: st.rerun, st.switch_page) to the finish that ends it. One difference: a whole-app run
        answers a fragment request too, since the server folds a fragment request into a pending
        whole-app rerun (`ScriptRequests`: "a full-app rerun trumps every fragment-targeted one")."""
        want, start, first, runs = fragment, None, None, 0
        for e in self._events[since:]:
            if e.kind == "close":
                return "closed"
            if start is None:
                if e.kind == "start" and (not e.fragments or want in e.fragments):
                    start, runs = e, runs + 1
                    first = first or e
            elif e.kind == "start" and not e.fragments:
                start, runs = e, runs + 1  # a whole-app run replaced ours before it finished
            elif e.kind == "start":
                # A fragment run cannot start before the run in progress has finished on the same
                # script runner: the server started a new runner and dropped the old one's finish
                # (AppSession ignores a replaced runner's events; a run_every tick can land just
                # as a run ends). A browser waits for that finish in vain too.
                return "lost"
            elif e.kind == "finish" and (e.run == start.run or not e.run):
                if e.status != EARLY or not e.run:
                    return first, e, runs  # type: ignore[return-value]
                start, want = None, ""
        return None

    def _explain(self, since: int) -> str:
        """What arrived since event `since` (for a step that got no answer): runs started and
        finished, `(f)` for fragment runs, the finish status."""
        tail = [
            f"{e.kind}{'(f)' if e.fragments else ''}{'' if e.status is None else f':{e.status}'}"
            for e in self._events[since:]
        ]
        return (" ".join(tail[-12:]) or "nothing") + f", {len(tail)} events, {self.received} bytes in all"

    # --- receiving ----------------------------------------------------------------------------

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for data in self._ws:
                t = time.perf_counter()
                self.received += len(data)
                self._handle(ForwardMsg.FromString(data), data, t)  # type: ignore[arg-type]
                self._changed.set()
        except ConnectionClosed:
            pass
        finally:
            self._events.append(Event(time.perf_counter(), "close", received=self.received))
            self._changed.set()

    def _handle(self, msg: ForwardMsg, data: bytes, t: float) -> None:
        kind = msg.WhichOneof("type")
        if kind == "ref_hash":
            cached = self._cache.get(msg.ref_hash)
            if cached is None:
                self.problems.append((len(self._events), f"cached message missing: {msg.ref_hash}"))
                return
            cached.metadata.CopyFrom(msg.metadata)
            msg, kind = cached, cached.WhichOneof("type")
        elif msg.metadata.cacheable and msg.hash:
            self._cache.put(msg, data)
        if kind == "new_session":
            self._new_session(msg, t)
        elif kind == "delta":
            self._apply(msg)
        elif kind == "script_finished":
            self._finished(msg, t)
        elif kind == "navigation":
            for page in msg.navigation.app_pages:
                self.pages[page.page_name] = self.pages[page.url_pathname] = page.page_script_hash
        elif kind == "auto_rerun":
            self._arm(msg.auto_rerun.fragment_id, msg.auto_rerun.interval)
        elif kind == "stop_auto_rerun":
            for fragment_id in msg.stop_auto_rerun.fragment_ids:
                self._disarm(fragment_id)
        elif kind == "page_not_found":
            self.problems.append((len(self._events), f"page not found: {msg.page_not_found.page_name}"))
        elif kind == "session_event" and msg.session_event.HasField("script_compilation_exception"):
            error = msg.session_event.script_compilation_exception
            self.problems.append((len(self._events), f"compile error: {error.type}: {error.message}"))

    def _new_session(self, msg: ForwardMsg, t: float) -> None:
        session, run = msg.new_session, msg.metadata.run
        self._run, self._fragments = run.script_run_id, tuple(run.fragment_ids)
        self._new_session_seen = True
        if not self._fragments:  # a whole-app run (App.handleNewSession)
            for fragment_id in list(self._timers):
                self._disarm(fragment_id)
            self._max_age = session.config.max_cached_message_age
            self.main_hash = session.main_script_hash
            if session.page_script_hash != self.page_hash:
                self.page.keep_script(self.main_hash)
            self.page_hash = session.page_script_hash
        self._events.append(Event(t, "start", self._run, self._fragments, received=self.received))

    def _apply(self, msg: ForwardMsg) -> None:
        placed = self.page.apply(msg, self._run)
        if placed is None:
            return
        kind, proto = placed
        if kind == "exception" and not msg.metadata.delta_path:  # a failed request: no place on the page
            self.problems.append((len(self._events), f"exception: {proto.type}: {proto.message}"))
        self._seed(kind, proto)

    def _seed(self, kind: str, proto: Any) -> None:
        widget_id = getattr(proto, "id", "") if proto is not None else ""
        if not widget_id or kind in widgets.STATELESS:
            return
        state = widgets.seed(kind, proto)
        if state is None:
            self.unknown_widgets.add(kind)
        elif widget_id not in self.states or getattr(proto, "set_value", False):
            self.states[widget_id] = state

    def _finished(self, msg: ForwardMsg, t: float) -> None:
        status = msg.script_finished
        self._events.append(
            Event(t, "finish", msg.metadata.run.script_run_id, status=status, received=self.received)
        )
        if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
            self.problems.append((len(self._events) - 1, "the script failed to compile"))
        if status not in DONE:
            return
        run, fragments = msg.metadata.run.script_run_id or self._run, self._fragments
        # App.handleScriptFinished: stale nodes go, so do the states of widgets no longer shown
        shown = self.page.clear_stale(run, fragments)
        self.states = {wid: s for wid, s in self.states.items() if wid in shown}
        if self._new_session_seen:
            self._cache.age(fragments, self._max_age)

    # --- run_every fragments (App.handleAutoRerun) ------------------------------------------------

    def _arm(self, fragment_id: str, interval: float) -> None:
        current = self._timers.get(fragment_id)
        if current is not None and current[0] == interval:
            return  # the same interval again: the countdown goes on
        self._disarm(fragment_id)
        if interval > 0:
            self._timers[fragment_id] = (interval, asyncio.create_task(self._tick(fragment_id, interval)))

    def _disarm(self, fragment_id: str) -> None:
        timer = self._timers.pop(fragment_id, None)
        if timer is not None:
            timer[1].cancel()

    async def _tick(self, fragment_id: str, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            if not fragment_id and self._busy:
                continue  # a page tick waits while a run is going (a fragment tick does not)
            try:
                await self._rerun(fragment=fragment_id, auto=True)
            except (ConnectionError, ConnectionClosed):
                return
            self.auto_reruns += 1
