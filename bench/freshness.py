"""Freshness benchmark: how long a change at Brusnika takes to be visible in the dashboard's cache.

  1. a sandbox at `--scale` (and, for `--path kafka`, a noida-db broker it publishes to);
  2. the dashboard process's runtime, started the way the app starts it (`kontur.runtime.start_runtime`
     with the settings below): for `rest`, its scheduler syncs every `--interval` seconds; for `kafka`,
     its background consumer feeds the cache (the REST schedule off);
  3. once the first fill is done, the sandbox drifts by `--rate` changes per second (one
     `SandboxAdmin.drift` call per second, on a timer) for `--duration` seconds. After each call the
     bench reads the sandbox's public feed from where it last looked (`updated_since`) to learn exactly
     which records changed and their `updated_at`;
  4. a reader polls the cache every `--poll` seconds through the app's own query
     (`kontur.queries.sync_health.held_versions`, on a cursor of the runtime, as a page reads): a
     change is visible once the cache holds that version of the record or a newer one (a tombstone:
     once the row is gone).
Reported: p50 / p95 / max of (seen - updated_at) over every change, beside the configured interval.
The poll adds up to `--poll` seconds to each figure.

    .venv/bin/python bench/freshness.py --path rest --interval 60 --duration 300
    .venv/bin/python bench/freshness.py --path rest --interval 5 --duration 120
    .venv/bin/python bench/freshness.py --path kafka --duration 120
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from kontur.models import ENTITIES  # noqa: E402

RESULTS = REPO / "bench" / "RESULTS-freshness.latest.md"


@dataclass
class Change:
    entity: str
    record_id: int
    updated_at: datetime
    deleted: bool


class Feed:
    """The sandbox's public feed, read from where the bench last looked: which records changed."""

    def __init__(self, api: str, token: str) -> None:
        from kontur.client import BrusnikaClient

        self.client = BrusnikaClient(base_url=api, token=token)
        self.marks: dict[str, datetime] = {}

    def start_marks(self) -> None:
        for entity in ENTITIES:
            newest = None
            for page in self.client.iter_raw_pages(entity):
                for item in orjson.loads(page.content)["items"]:
                    stamp = datetime.fromisoformat(item["updated_at"])
                    newest = stamp if newest is None or stamp > newest else newest
            if newest is not None:
                self.marks[entity] = newest

    def changes(self) -> list[Change]:
        out: list[Change] = []
        for entity in ENTITIES:
            for page in self.client.iter_raw_pages(entity, updated_since=self.marks.get(entity)):
                for item in orjson.loads(page.content)["items"]:
                    stamp = datetime.fromisoformat(item["updated_at"])
                    out.append(Change(entity, int(item["id"]), stamp, bool(item.get("deleted"))))
                    if entity not in self.marks or stamp > self.marks[entity]:
                        self.marks[entity] = stamp
        return out


def measure(
    rt: Any, feed: Feed, admin: Any, *, rate: int, duration: float, poll: float, settle: float
) -> dict:
    from kontur.queries import sync_health

    pending: dict[tuple[str, int], Change] = {}
    delays: list[float] = []
    lock = threading.Lock()
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            with lock:
                waiting = list(pending.values())
            by_entity: dict[str, list[Change]] = {}
            for change in waiting:
                by_entity.setdefault(change.entity, []).append(change)
            now = time.time()
            with rt.cursor() as cur:
                for entity, changes in by_entity.items():
                    held = sync_health.held_versions(cur, entity, [c.record_id for c in changes])
                    for c in changes:
                        version = held.get(c.record_id)
                        seen = (
                            version is None if c.deleted else version is not None and version >= c.updated_at
                        )
                        if seen:
                            with lock:
                                if pending.get((entity, c.record_id)) is c:
                                    del pending[(entity, c.record_id)]
                                    delays.append(now - c.updated_at.timestamp())
            stop.wait(poll)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    started = time.monotonic()
    ticks = 0
    while time.monotonic() - started < duration:
        tick = time.monotonic()
        admin.drift(rate)
        ticks += 1
        for change in feed.changes():
            with lock:
                # A newer change of the same record replaces the older one (it will be seen instead).
                pending[(change.entity, change.record_id)] = change
        time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
    deadline = time.monotonic() + settle
    while time.monotonic() < deadline:
        with lock:
            if not pending:
                break
        time.sleep(poll)
    stop.set()
    thread.join(timeout=10)
    with lock:
        unseen = len(pending)
    delays.sort()
    q = statistics.quantiles(delays, n=100) if len(delays) >= 2 else [float("nan")] * 99
    return {
        "ticks": ticks,
        "changes_seen": len(delays),
        "unseen": unseen,
        "p50_s": round(statistics.median(delays), 2) if delays else None,
        "p95_s": round(q[94], 2),
        "max_s": round(delays[-1], 2) if delays else None,
        "load_avg": round(os.getloadavg()[0], 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", choices=("rest", "kafka"), default="rest")
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--rate", type=int, default=10, help="drift changes per second")
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of drift")
    parser.add_argument("--interval", type=float, default=60.0, help="REST: KONTUR_SYNC_INTERVAL")
    parser.add_argument("--poll", type=float, default=0.2, help="seconds between cache reads")
    parser.add_argument("--no-write", action="store_true", help=f"do not write {RESULTS.name}")
    args = parser.parse_args(argv)

    from pydantic import SecretStr

    from kontur.config import Settings
    from kontur.processes import stop_process_group
    from kontur.runtime import start_runtime
    from kontur.sandbox.server import start_sandbox

    work = Path(tempfile.mkdtemp(prefix="kontur-bench-fresh-"))
    broker = None
    bootstrap: str | None = None
    extra: list[str] = []
    if args.path == "kafka":
        sys.path.insert(0, str(REPO / "bench"))
        from kafka import _start_broker  # bench/kafka.py's broker start

        broker, bootstrap = _start_broker(work / "broker")
        extra = ["--kafka", bootstrap]
    sandbox = start_sandbox(scale=args.scale, seed=11, extra_args=extra, timeout=600)
    rt = None
    try:
        settings = Settings(
            api_url=sandbox.api_url,
            api_token=SecretStr(sandbox.token),
            cache_path=work / "fresh.duckdb",
            sync_interval=args.interval if args.path == "rest" else 0,
            auto_sync=args.path == "rest",
            kafka_bootstrap_servers=bootstrap,
            kafka_group_id="bench-freshness",
        )
        t0 = time.perf_counter()
        rt = start_runtime(settings)
        admin = sandbox.admin()
        live = sum(admin.stats()["live"].values())
        if args.path == "rest":
            while not rt.sync.status().running and rt.sync.progress.state == "idle":
                time.sleep(0.1)
            rt.sync.wait()
        else:
            while rt.kafka is None or rt.kafka.status().messages < live:
                time.sleep(0.2)
        print(f"first fill ({live:,} records) in {time.perf_counter() - t0:.0f} s", flush=True)
        feed = Feed(sandbox.api_url, sandbox.token)
        feed.start_marks()
        figures = measure(
            rt, feed, admin, rate=args.rate, duration=args.duration, poll=args.poll,
            settle=max(3 * args.interval, 60) if args.path == "rest" else 60,
        )  # fmt: skip
    finally:
        if rt is not None:
            rt.close()
        sandbox.stop()
        if broker is not None:
            stop_process_group(broker)
    figures |= {
        "path": args.path,
        "interval_s": args.interval if args.path == "rest" else None,
        "rate": args.rate,
        "duration_s": args.duration,
        "scale": args.scale,
        "poll_s": args.poll,
        "when": time.strftime("%Y-%m-%d %H:%M"),
    }
    print(json.dumps(figures), flush=True)
    if not args.no_write:
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write(json.dumps(figures) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
