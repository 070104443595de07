"""Browser benchmark: what a manager feels in Chromium, step by step, alone and with colleagues.

Starts the sandbox at `--scale` (10 = 1,000,000 premises, 5,000,000 leads), fills the cache with the
real sync (`bench/out/browser-<scale>.duckdb`, kept for `--reuse`; each run works on a copy), starts
the dashboard (`streamlit run app.py`, headless, 127.0.0.1, a free port, `KONTUR_AUTO_SYNC=0`, the
API pointed at the sandbox) and walks it in headless Debian Chromium the way managers do
(`_browser_walk.STEPS`): open each page, change the sidebar's city, project and building, a type
filter and the price slider, open a premise card, switch the chessboard's building, pick a free
premise and open the booking form from it, filter deals by agent and state, open the sync page.

Each step is timed in the page (`_browser_probe.js`), from the input event to the first paint after
the script run that answers it, nothing stale; p50/p95 over `--repeats` walks (each a new session,
each on the next city). Beside it, measured in the same run:
- the data floor: the step's queries alone in DuckDB (`_browser_floors.py`: the table step → query
  calls, the same functions and arguments, on a cursor of the same cache file), and
- the framework floor: the same input on an app with the same navigation and sidebar and nothing
  else on its pages (`_browser_floor_app.py`), walked right after each dashboard walk.
Each step is reported as time and as a multiple of (data floor + framework floor). The dashboard runs
through `_browser_launch.py`, which logs every query a script run makes, so the bench also shows
what the app really queried per step and flags where the table no longer matches the pages.

`--sessions N --minutes M` adds the concurrent run: N people walking at once for M minutes while the
sandbox drifts and the dashboard syncs, on a freshly started dashboard process; p50/p95 per step,
errors, the dashboard's peak RSS and CPU. `--load-via protocol` (the default, `_proto_load.py`): N−1
of them speak Streamlit's WebSocket protocol without a browser (`_proto_session.py`), as a browser
on each manager's own computer would, and one is a real Chromium walking meanwhile, so the figures
are the server's under load plus what one browser felt. `--load-via browser` (`_browser_load.py`):
N Chromiums on this machine (on 2 cores they starve it and the run measures Chromium).

Sign-in: the dashboard runs without `[auth]` (an empty secrets file of its own, so a developer's
`.streamlit/secrets.toml` never applies) and with `KONTUR_INSECURE_DEV_PICKER=1`, the development
picker a configured API will need once it requires sign-in (issue 11). To measure behind sign-in:
start the tests' OIDC provider (`tests/e2e/conftest_auth.py: run_oidc_provider`), write
`auth_secrets_toml(...)` into this run's secrets file, and sign each browser context in where the
walk starts (`_browser_load._walker` and `single_run` below mark the place): click «Войти», pick the
person on the provider's page, wait for the navigation; the `load` step then times a signed-in load.

    .venv/bin/python bench/browser.py --scale 0.1 --repeats 3
    .venv/bin/python bench/browser.py --scale 10 --reuse --repeats 7 --sessions 25 --minutes 5
    .venv/bin/python bench/browser.py --scale 1 --repeats 1 --sessions 25 --minutes 2 --load-via browser
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import _browser_floors as floors  # noqa: E402
import _browser_load as load  # noqa: E402
import _browser_report as report  # noqa: E402
import _proto_load  # noqa: E402
from _browser_procs import (  # noqa: E402
    OUT,
    SEED,
    Sampler,
    browser_root,
    floor_cache,
    ops_file,
    peak_rss_hwm,
    prepare_cache,
    start_streamlit,
)
from _browser_walk import CHROMIUM_ARGS, STEPS, VIEWPORT, Step, Timing, Variant, probe_script, walk  # noqa: E402
from playwright.async_api import Browser, async_playwright  # noqa: E402

from kontur.cache import Cache  # noqa: E402
from kontur.processes import stop_process_group  # noqa: E402
from kontur.store.db import Store  # noqa: E402

LATEST = REPO / "bench" / "RESULTS-browser.latest.md"


def app_env(sandbox: Any, cache: Path, *, sync_interval: float = 0) -> dict[str, str]:
    return {
        "BRUSNIKA_API_URL": sandbox.api_url,
        "BRUSNIKA_API_TOKEN": sandbox.token,
        "KONTUR_CACHE_PATH": str(cache),
        "KONTUR_AUTO_SYNC": "0",
        # The runtime's schedule (issue 12), once it exists: off unless the run asks for it.
        "KONTUR_SYNC_INTERVAL": f"{sync_interval:g}",
        # Against a configured API without [auth]: the development picker (see the docstring).
        "KONTUR_INSECURE_DEV_PICKER": "1",
        # No tile server on this closed network: the map without tiles (as the offline e2e test), else
        # every failed tile fetch is a «Map error.» on the page and the browser's time goes into retries.
        "KONTUR_MAP_STYLE": "white-bg",
        # Kontur's own records (issue 13): the store beside this run's cache copy, which holds the
        # users directory the fill seeded (never the repository's data/).
        "KONTUR_DATABASE_URL": f"sqlite:///{ops_file(cache)}",
    }


def traced_lines(trace: Path, offset: int) -> tuple[list[dict[str, Any]], int]:
    if not trace.exists():
        return [], offset
    with trace.open("rb") as f:
        f.seek(offset)
        data = f.read()
    lines = data.split(b"\n")
    rest = lines.pop()  # a line still being written stays for the next read
    return [json.loads(x) for x in lines if x], offset + len(data) - len(rest)


async def single_run(
    browser: Browser,
    url: str,
    v: Variant,
    probe: str,
    *,
    timeout_ms: float,
    on_step: Any,
    errors: list[str],
    who: str,
) -> None:
    context = await browser.new_context(viewport=VIEWPORT, locale="ru-RU", timezone_id="Asia/Yekaterinburg")
    await context.add_init_script(probe)
    page = await context.new_page()
    page.set_default_timeout(60_000)
    page.on("pageerror", lambda exc: errors.append(f"{who}: page error: {str(exc)[:200]}"))
    try:
        # A sign-in would go here (see the module docstring), before the walk's first load.
        await walk(page, url, v, steps=STEPS, timeout_ms=timeout_ms, on_step=on_step)
    finally:
        await context.close()


async def single_phase(
    app_url: str,
    floor_url: str,
    walks: list[Variant],
    plans: list[dict[str, list[floors.Call]]],
    data_floor: list[dict[str, float]],
    trace: Path,
    timeout_ms: float,
    servers: dict[str, int],
) -> report.Single:
    out = report.Single()
    probe = probe_script()
    offset = 0
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        sampler = Sampler({**servers, "browser": browser_root(servers.values())}).start()
        for r, v in enumerate(walks):
            out.loads.append(os.getloadavg()[0])
            print(
                f"walk {r + 1}/{len(walks)}: {v.city} / {v.project} / {v.building}, load {out.loads[-1]:.1f}",
                flush=True,
            )
            _, offset = traced_lines(trace, offset)  # whatever ran between walks belongs to no step

            def on_app(step: Step, timing: Timing, r: int = r) -> None:
                nonlocal offset
                out.app.setdefault(step.key, []).append(timing)
                lines, offset = traced_lines(trace, offset)
                calls = [c for c in lines if not c.get("run")]
                out.python_ms.setdefault(step.key, []).append(sum(c["ms"] for c in lines if c.get("run")))
                out.traced_ms.setdefault(step.key, []).append(sum(c["ms"] for c in calls))
                out.traced_n.setdefault(step.key, []).append(len(calls))
                if step.comparable:
                    out.data_floor.setdefault(step.key, []).append(data_floor[r][step.key])
                    diff = floors.compare(plans[r][step.key], calls)
                    if diff and timing.ok:
                        out.mismatches.setdefault(step.key, set()).add(f"walk {r + 1}: {diff}")
                if step.key == "sh.sync" and "sync_ms" in timing.extra:
                    out.sync_ms.append(timing.extra["sync_ms"])
                if not timing.ok:
                    out.errors.append(f"walk {r + 1}: {step.key}: {timing.error}")
                print(
                    f"  {step.title:<52} {report.s(timing.idle_ms):>6} s"
                    f"  (server runs {out.python_ms[step.key][-1]:.0f} ms)"
                    + ("" if timing.ok else f"  {timing.error}"),
                    flush=True,
                )

            def on_floor(step: Step, timing: Timing, r: int = r) -> None:
                out.floor.setdefault(step.key, []).append(timing)
                if not timing.ok:
                    out.errors.append(f"floor walk {r + 1}: {step.key}: {timing.error}")

            await single_run(
                browser,
                app_url,
                v,
                probe,
                timeout_ms=timeout_ms,
                on_step=on_app,
                errors=out.errors,
                who=f"walk {r + 1}",
            )
            await single_run(
                browser,
                floor_url,
                v,
                probe,
                timeout_ms=timeout_ms,
                on_step=on_floor,
                errors=out.errors,
                who=f"floor walk {r + 1}",
            )
        out.usage = sampler.stop()
        await browser.close()
    return out


async def concurrent_phase(app: Any, walks: list[Variant], sandbox: Any, args: argparse.Namespace) -> tuple:
    probe = probe_script()
    driver = _proto_load if args.load_via == "protocol" else load
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        sampler = Sampler({"dashboard": app.proc.pid, "browser": browser_root([app.proc.pid])}).start()
        # this process alone: the protocol sessions and Playwright's Python side (no children)
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        steps_log = OUT / "browser-logs" / "load-steps.jsonl"
        with sandbox.admin() as admin, steps_log.open("w", encoding="utf-8") as log:
            result = await driver.run(
                browser,
                app.url,
                walks,
                probe,
                admin,
                sessions=args.sessions,
                minutes=args.minutes,
                stagger=args.stagger,
                think=args.think,
                drift_every=args.drift_every,
                drift_changes=args.drift_changes,
                sync_via=args.sync_via,
                sync_every=args.sync_every,
                timeout_ms=args.step_timeout * 1000,
                log=log,
            )
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        hwm = peak_rss_hwm(app.proc.pid)
        usage = sampler.stop()
        own = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
        usage["load generator"] = {"cpu_self_s": own}
        await browser.close()
    return result, usage, hwm


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=5, help="single-session walks (each a new session)")
    parser.add_argument("--reuse", action="store_true", help="reuse bench/out/browser-<scale>.duckdb")
    parser.add_argument("--sessions", type=int, default=0, help="concurrent sessions (0: single walk only)")
    parser.add_argument(
        "--load-via",
        choices=("protocol", "browser"),
        default="protocol",
        help="protocol: N-1 sessions over Streamlit's WebSocket protocol and 1 Chromium; browser: N Chromium",
    )
    parser.add_argument("--minutes", type=float, default=3.0, help="length of the concurrent run")
    parser.add_argument("--stagger", type=float, default=2.0, help="seconds between session starts")
    parser.add_argument("--think", type=float, default=1.0, help="mean think time between steps, s")
    parser.add_argument("--drift-every", type=float, default=10.0, help="seconds; 0: no drift")
    parser.add_argument("--drift-changes", type=int, default=500)
    parser.add_argument("--sync-via", choices=("button", "schedule", "none"), default="button")
    parser.add_argument("--sync-every", type=float, default=30.0)
    parser.add_argument("--step-timeout", type=float, default=120.0, help="seconds before a step is an error")
    args = parser.parse_args(argv)

    from kontur.sandbox.server import start_sandbox

    started = time.strftime("%Y-%m-%d %H:%M %Z")
    load_start = os.getloadavg()
    OUT.mkdir(parents=True, exist_ok=True)
    secrets = OUT / "browser-secrets.toml"
    secrets.write_text("# bench/browser.py: no [auth] (see its docstring for measuring behind sign-in)\n")
    extra = ["--secrets.files", str(secrets)]
    print(f"starting the sandbox at scale {args.scale:g}…", flush=True)
    with start_sandbox(scale=args.scale, seed=SEED, timeout=3600) as sandbox:
        work, fill_note = prepare_cache(sandbox, args.scale, args.reuse)
        with Cache(work) as cache:
            cur = cache.reader()
            premises, leads_n = cur.execute(
                "SELECT (SELECT count(*) FROM premises), (SELECT count(*) FROM leads)"
            ).fetchone()
            # the concurrent sessions start on different walks, the single ones take the first few
            walks = floors.variants(cur, max(args.repeats, args.sessions, 1))
            plans = floors.misses(walks[: args.repeats], STEPS)
            print("data floor: every step's queries on the cache…", flush=True)
            with Store.open(f"sqlite:///{ops_file(work)}") as store:
                measured = [floors.measure(cur, plan, store=store) for plan in plans]
            cur.close()
        data_floor = [per_step for per_step, _ in measured]
        calls_ms: dict[str, float] = {}
        for _, per_call in measured:
            calls_ms.update(per_call)

        trace = OUT / "browser-trace.jsonl"
        logs = OUT / "browser-logs"
        logs.mkdir(exist_ok=True)
        single, single_hwm = report.Single(), None
        if args.repeats:
            floor_app = start_streamlit(
                "bench/_browser_floor_app.py",
                app_env(sandbox, floor_cache(work)),
                logs / "floor.log",
                extra=extra,
            )
            app = start_streamlit(
                "app.py", app_env(sandbox, work), logs / "app.log", trace=trace, extra=extra
            )
            try:
                single = asyncio.run(
                    single_phase(
                        app.url,
                        floor_app.url,
                        walks[: args.repeats],
                        plans,
                        data_floor,
                        trace,
                        args.step_timeout * 1000,
                        {"dashboard": app.proc.pid, "floor app": floor_app.proc.pid},
                    )
                )
                single_hwm = peak_rss_hwm(app.proc.pid)
            finally:
                app.stop()
                floor_app.stop()

        concurrent = None
        if args.sessions > 0:
            interval = args.sync_every if args.sync_via == "schedule" else 0
            app = start_streamlit(
                "app.py", app_env(sandbox, work, sync_interval=interval), logs / "app-load.log", extra=extra
            )
            try:
                concurrent = asyncio.run(concurrent_phase(app, walks, sandbox, args))
            finally:
                stop_process_group(app.proc)

    text = render(
        args, started, load_start, fill_note, premises, leads_n, single, single_hwm, concurrent, calls_ms
    )
    print("\n" + text)
    LATEST.write_text(text, encoding="utf-8")
    print(f"written to {LATEST.relative_to(REPO)}")
    return 0


def render(
    args: argparse.Namespace,
    started: str,
    load_start: tuple[float, float, float],
    fill_note: str,
    premises: int,
    leads_n: int,
    single: report.Single,
    single_hwm: int | None,
    concurrent: tuple | None,
    calls_ms: dict[str, float],
) -> str:
    from importlib.metadata import version

    load_timings: dict[str, list[Timing]] | None = None
    load_label = f"{args.sessions}-session"
    if concurrent is not None:
        # protocol: the steps table shows the server's step times (the protocol sessions); the one
        # Chromium's figures are in the concurrent run's own table
        protocol, chromium = report.split(concurrent[0])
        load_timings = protocol if args.load_via == "protocol" else chromium
        if args.load_via == "protocol":
            load_label = f"{args.sessions - 1} protocol sessions (+1 Chromium)"
    end_load = os.getloadavg()
    lines = [
        f"## Browser benchmark (scale {args.scale:g}: {premises:,} premises, {leads_n:,} leads)",
        "",
        f"`{' '.join(['.venv/bin/python', 'bench/browser.py', *sys.argv[1:]])}`, started {started}; "
        f"{report.machine()}; Streamlit {version('streamlit')}, Playwright {version('playwright')}, Debian "
        f"Chromium. Load average (1/5/15 min) at the start {' / '.join(f'{x:.2f}' for x in load_start)}, "
        f"at the end {' / '.join(f'{x:.2f}' for x in end_load)}. Cache: {fill_note}.",
        "",
        f"Single session: {args.repeats} walks, each a new session on the next city, the app freshly started "
        "(cold `st.cache_data`), «Синхронизировать» at the end of each walk (a new data version: the next "
        "walk reads cold). Seconds from the input event to the first paint after the answering script run, "
        "nothing stale; p95 is nearest-rank (under 20 samples: the slowest). Data floor: the step's queries "
        "that miss `st.cache_data`, median of 3 on the same cache; framework floor: the same input on the "
        "empty-pages app, walked after each dashboard walk.",
        "",
        *report.steps_table(single, load_timings, load_label),
        "",
        "- «Синхронизировать» until the page showed the fresh data: p50 "
        f"{report.s(report.med(single.sync_ms), 1)} s (an incremental sync with nothing new)",
        "- dashboard peak RSS after the single walks: "
        + ("—" if single_hwm is None else f"{single_hwm / 2**20:,.0f} MB (VmHWM)"),
        *report.usage_lines(single.usage),
        *report.errors_block(single.errors),
        "",
        "### Diagnostics (single session, p50)",
        "",
        *report.diagnostics_table(single),
        "",
    ]
    if single.mismatches:
        lines += [
            "Table step → query calls differs from what the app ran (update `_browser_floors.reads`):",
            "",
        ]
        lines += [f"- {k}: {'; '.join(sorted(v))}" for k, v in single.mismatches.items()]
        lines.append("")
    top = sorted(calls_ms.items(), key=lambda kv: -kv[1])[:12]
    lines += ["Slowest query calls of the data floor (median ms):", ""]
    lines += [f"- {ms:.1f} ms `{name[:160]}`" for name, ms in top]
    lines.append("")
    if concurrent is not None:
        result, usage, hwm = concurrent
        lines += [
            f"### Concurrent run ({args.sessions} sessions, load via {args.load_via})",
            "",
            *report.load_block(result, usage, hwm, args),
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
