"""The markdown of bench/browser.py: the steps table, the diagnostics, the concurrent run's costs."""

from __future__ import annotations

import math
import os
import platform
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _browser_walk import STEPS, Timing


def pct(values: Iterable[float | None], q: float) -> float | None:
    """Nearest-rank percentile (p95 of 5 samples is their maximum); None without samples."""
    xs = sorted(v for v in values if v is not None)
    if not xs:
        return None
    return xs[max(0, math.ceil(q / 100 * len(xs)) - 1)]


def med(values: Iterable[float | None]) -> float | None:
    xs = [v for v in values if v is not None]
    return statistics.median(xs) if xs else None


def s(ms: float | None, digits: int = 2) -> str:
    return "—" if ms is None else f"{ms / 1000:.{digits}f}"


def mss(ms: float | None) -> str:
    return "—" if ms is None else f"{ms:.0f}"


@dataclass
class Single:
    """The single-session walk: per step the app's timings, the floor app's, the data floors."""

    app: dict[str, list[Timing]] = field(default_factory=dict)
    floor: dict[str, list[Timing]] = field(default_factory=dict)
    data_floor: dict[str, list[float]] = field(default_factory=dict)
    traced_ms: dict[str, list[float]] = field(default_factory=dict)
    traced_n: dict[str, list[int]] = field(default_factory=dict)
    python_ms: dict[str, list[float]] = field(default_factory=dict)  # the server's script runs, summed
    mismatches: dict[str, set[str]] = field(default_factory=dict)
    sync_ms: list[float] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)
    usage: dict[str, dict[str, float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def machine() -> str:
    def first(path: str, prefix: str) -> str:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError:
            return "?"
        return next((x.split(":", 1)[1].strip() for x in text.splitlines() if x.startswith(prefix)), "?")

    model = first("/proc/cpuinfo", "model name")
    mem = (
        int(first("/proc/meminfo", "MemTotal").split()[0] or 0)
        if first("/proc/meminfo", "MemTotal") != "?"
        else 0
    )
    return f"{os.cpu_count()} cores ({model}), {mem / 2**20:.0f} GB RAM, {platform.platform(terse=True)}"


def ok(timings: list[Timing]) -> list[float | None]:
    return [t.idle_ms for t in timings if t.ok]


def split(result: Any) -> tuple[dict[str, list[Timing]], dict[str, list[Timing]]]:
    """A concurrent run's timings by step: (protocol sessions', Chromium sessions')."""
    protocol: dict[str, list[Timing]] = {}
    chromium: dict[str, list[Timing]] = {}
    for i, timing in result.timings:
        side = chromium if i in result.browser_sessions else protocol
        side.setdefault(timing.step, []).append(timing)
    return protocol, chromium


def steps_table(single: Single, load: dict[str, list[Timing]] | None, label: str) -> list[str]:
    n = label if load is not None else "N-session"
    lines = [
        f"| step | single p50 s | single p95 s | {n} p50 s | {n} p95 s | data floor ms | framework floor ms "
        "| multiple of floors (p50) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for step in STEPS:
        app = ok(single.app.get(step.key, []))
        many = ok(load.get(step.key, [])) if load is not None else []
        p50 = med(app)
        data = med(single.data_floor.get(step.key, [])) if step.comparable else None
        frame = med(ok(single.floor.get(step.key, []))) if step.comparable else None
        floors = None if data is None or frame is None else data + frame
        multiple = "—" if p50 is None or not floors else f"{p50 / floors:.1f}×"
        lines.append(
            f"| {step.title} | {s(p50)} | {s(pct(app, 95))} | {s(med(many))} | {s(pct(many, 95))} | "
            f"{mss(data)} | {mss(frame)} | {multiple} |"
        )
    return lines


def diagnostics_table(single: Single) -> list[str]:
    lines = [
        "| step | app ran queries: n / ms (trace) | table's data floor ms | server's script runs ms "
        "| script run(s) ms (browser) | floor app's "
        "run ms | input → request ms | settled p50 s | «no stStatusWidget after 0.15 s» p50 s "
        "| probe's own ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for step in STEPS:
        app = [t for t in single.app.get(step.key, []) if t.ok]
        python = mss(med(single.python_ms.get(step.key, [])))
        floor = [t for t in single.floor.get(step.key, []) if t.ok]
        n = med(single.traced_n.get(step.key, []))
        traced = med(single.traced_ms.get(step.key, []))
        lines.append(
            f"| {step.title} | {'—' if n is None else f'{n:.0f}'} / {mss(traced)} | "
            f"{mss(med(single.data_floor.get(step.key, [])))} | {python} | "
            f"{mss(med(t.server_ms for t in app))} | "
            f"{mss(med(t.server_ms for t in floor))} | "
            f"{mss(med(t.send_ms for t in app))} | {s(med(t.settled_ms for t in app))} | "
            f"{s(med(t.naive_ms for t in app))} | {mss(med(t.extra.get('probe_ms') for t in app))} |"
        )
    return lines


def errors_block(errors: list[str]) -> list[str]:
    if not errors:
        return ["- errors: **0**"]
    kinds = Counter(e.split(": ", 2)[1] if e.count(": ") >= 2 else e for e in errors)
    out = [f"- errors: **{len(errors)}** — " + ", ".join(f"{k} ×{v}" for k, v in kinds.most_common(8))]
    out += [f"  - `{e}`" for e in errors[:10]]
    return out


def usage_lines(usage: dict[str, dict[str, float]]) -> list[str]:
    """How much each process tree ran, and how long it waited for a CPU the machine's other work held
    (Linux schedstat: runnable, not running). A large wait means the figures above carry the load."""
    if not usage:
        return []
    parts = [
        f"{name} {u['cpu_s']:.0f} s on a CPU, {u['queue_s']:.0f} s waiting for one"
        for name, u in usage.items()
        if "cpu_s" in u
    ]
    return ["- CPU and run-queue wait during the walks: " + "; ".join(parts)]


PROTOCOL_METHOD = (
    "Method: {p} sessions over Streamlit's own WebSocket protocol (`bench/_proto_session.py`: the rerun "
    "requests a browser sends, with every widget state, fragment reruns, `run_every` ticks and the "
    "message cache; nothing rendered) and 1 real Chromium session (the browser walk, started once all "
    "others had) walking the same walk meanwhile. A protocol step is timed from sending its request to "
    "receiving the `script_finished` of the run answering it: the server's queueing and script run plus "
    "the loopback transfer, without the browser's parse, render and paint (on a manager's own computer "
    "in production). A Chromium step is timed in the page, input event to the first paint after that "
    "run, as in the single-session table. The steps table's concurrent columns are the protocol sessions."
)


def load_block(result: Any, usage: dict[str, dict[str, float]], hwm: int | None, args: Any) -> list[str]:
    timed = len(result.timings)
    dash = usage.get("dashboard", {})
    browser = usage.get("browser", {})
    syncs = result.syncs_ms
    protocol = getattr(args, "load_via", "browser") == "protocol"
    lines = [PROTOCOL_METHOD.format(p=args.sessions - 1), ""] if protocol else []
    lines += [
        f"- {args.sessions} sessions for {result.seconds / 60:.1f} min (staggered {args.stagger:g} s, "
        f"think time {args.think:g} s ± 50 %): {result.walks} whole walks, {timed} timed steps",
        f"- drift: {result.drifts} × {args.drift_changes} changes (every {args.drift_every:g} s); syncs "
        + (
            f"by «Синхронизировать» every {args.sync_every:g} s: {len(syncs)} done, p50 {s(med(syncs), 1)} s"
            if args.sync_via == "button"
            else f"by the runtime's schedule (KONTUR_SYNC_INTERVAL={args.sync_every:g})"
            if args.sync_via == "schedule"
            else "none"
        ),
        f"- dashboard process: CPU mean {dash.get('cpu_mean', 0):.2f} cores, "
        f"peak {dash.get('cpu_peak', 0):.2f} (0.5 s samples); "
        f"peak RSS {dash.get('rss_peak_mb', 0):,.0f} MB sampled"
        + ("" if hwm is None else f", {hwm / 2**20:,.0f} MB by the kernel (VmHWM)"),
        f"- Chromium ({'1 session' if protocol else 'all sessions'}, same 2 cores): CPU mean "
        f"{browser.get('cpu_mean', 0):.2f} cores, peak RSS {browser.get('rss_peak_mb', 0):,.0f} MB",
    ]
    if protocol:
        own = usage.get("load generator", {}).get("cpu_self_s", 0.0)
        lines += [
            f"- the bench process (the protocol sessions and Playwright's Python side): {own:.0f} s of CPU, "
            f"mean {own / max(result.seconds, 1e-9):.2f} cores; the protocol sessions sent "
            f"{result.auto_reruns} `run_every` fragment reruns",
        ]
    lines += [*usage_lines(usage), *errors_block(result.errors)]
    if protocol:
        lines += ["", *via_table(result)]
    return lines


def via_table(result: Any) -> list[str]:
    """Per step: the protocol sessions' times and bytes, and the one Chromium's times, side by side."""
    protocol, chromium = split(result)
    lines = [
        "| step | protocol n | p50 s | p95 s | max s | received KB p50 | runs | Chromium n | p50 s | p95 s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def count(timings: list[Timing]) -> str:
        failed = sum(not t.ok for t in timings)
        return f"{len(timings) - failed}" + (f" (+{failed} failed)" if failed else "")

    for step in STEPS:
        p, c = protocol.get(step.key, []), chromium.get(step.key, [])
        if not p and not c:
            continue
        good = [t for t in p if t.ok]
        kb = med(t.extra.get("bytes", 0) / 1024 for t in good)
        runs = max((t.extra.get("runs", 0) for t in good), default=0)
        lines.append(
            f"| {step.title} | {count(p)} | {s(med(ok(p)))} | {s(pct(ok(p), 95))} | "
            f"{s(max(ok(p), default=None))} | {'—' if kb is None else f'{kb:,.0f}'} | {runs or '—'} | "
            f"{count(c)} | {s(med(ok(c)))} | {s(pct(ok(c), 95))} |"
        )
    return lines
