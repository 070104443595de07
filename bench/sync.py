"""Sync benchmark: our REST sync beside the speed limit of "JSON over HTTP into DuckDB" and beside dlt.

For each scale (sandbox scale 1 = 100k premises / 500k leads; scale 10 = ten times that):
  1. anchor  - the same pages fetched (one thread per entity, as ours) and handed straight to DuckDB's
               `read_json` with the explicit column types (the items array cut out of each page and
               read as a JSON array: the fastest way in we found), no checks, no staging, no
               transaction;
  2. full    - `kontur.sync.run_sync` full into an empty cache file (checks, pydantic fallback
               path armed, staging, one atomic swap);
  3. incr    - the sandbox drifts by N changes (default 50,000), then an incremental run into that
               scale's cache;
  4. dlt     - dlt's `rest_api` source (cursor paginator, page size 1000, parquet loader files: its
               fastest configuration here) into DuckDB over the same sandbox.
Each measurement runs in its own process so its peak RSS (ru_maxrss) is its own. Records/s counts
items received over the wire divided by the wall time of the load call (process start excluded).

    .venv/bin/python bench/sync.py                 # scales 1 and 10
    .venv/bin/python bench/sync.py --scale 1       # just scale 1
    .venv/bin/python bench/sync.py --no-peer       # skip dlt (slow at scale 10)
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from kontur.models import ENTITIES  # noqa: E402
from kontur.schema import COLUMNS, TABLES  # noqa: E402

PAGE_LIMIT = 1000
BATCH_PAGES = 16


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# --- workers (each in its own process) -------------------------------------------------------------
def worker_anchor(api: str, token: str, cache: Path) -> dict[str, Any]:
    """Fetch every page and give it to read_json: the speed limit we are measured against."""
    import duckdb

    from kontur.client import BrusnikaClient
    from kontur.load import items_array

    con = duckdb.connect(str(cache), config={"memory_limit": "1GB"})
    for entity in ENTITIES:
        cols = ", ".join(f'"{n}" {t}' for n, t in COLUMNS[entity])
        con.execute(f"CREATE TABLE {TABLES[entity]} ({cols})")
    work = Path(tempfile.mkdtemp(prefix="anchor-", dir=cache.parent))
    started = time.perf_counter()
    q: queue.Queue[tuple[str, Path | None]] = queue.Queue(maxsize=32)
    counter = iter(range(10**9))

    def fetch(entity: str, client: BrusnikaClient) -> None:
        for page in client.iter_raw_pages(entity, limit=PAGE_LIMIT):
            path = work / f"{next(counter)}.json"
            # DuckDB's fastest way in: the items array cut out of the page, read as a JSON array
            # (what kontur.load does too, so the ratio measures checks, staging and atomicity).
            items = items_array(page.content)
            assert items is not None, "sandbox page not in the contract's shape"
            path.write_bytes(items)
            q.put((entity, path))
        q.put((entity, None))

    with BrusnikaClient(base_url=api, token=token) as client:
        threads = [threading.Thread(target=fetch, args=(e, client), daemon=True) for e in ENTITIES]
        for t in threads:
            t.start()
        pending: dict[str, list[Path]] = {e: [] for e in ENTITIES}
        active = set(ENTITIES)
        records = 0
        while active:
            entity, path = q.get()
            if path is None:
                active.discard(entity)
            else:
                pending[entity].append(path)
            if pending[entity] and (path is None or len(pending[entity]) >= BATCH_PAGES):
                columns = ", ".join(f"'{n}': '{t}'" for n, t in COLUMNS[entity])
                row = con.execute(
                    f"INSERT INTO {TABLES[entity]} SELECT * FROM read_json(?, format = 'array', "  # noqa: S608
                    f"columns = {{{columns}}})",
                    [[str(p) for p in pending[entity]]],
                ).fetchone()
                records += int(row[0]) if row else 0
                for p in pending[entity]:
                    p.unlink()
                pending[entity] = []
    seconds = time.perf_counter() - started
    con.close()
    shutil.rmtree(work, ignore_errors=True)
    return {"records": records, "seconds": seconds, "rss_mb": _peak_rss_mb()}


def worker_ours(api: str, token: str, cache: Path, mode: str) -> dict[str, Any]:
    from kontur.cache import Cache
    from kontur.client import BrusnikaClient
    from kontur.sync import run_sync

    with Cache(cache) as opened, BrusnikaClient(base_url=api, token=token) as client:
        started = time.perf_counter()
        result = run_sync(opened, client, mode=mode)  # type: ignore[arg-type]
        seconds = time.perf_counter() - started
    if not result.ok:
        raise SystemExit(f"sync failed: {result.error}")
    return {
        "records": result.received,
        "loaded": result.loaded,
        "deleted": sum(c.deleted for c in result.entities.values()),
        "rejected": sum(c.rejected for c in result.entities.values()),
        "seconds": seconds,
        "commit_seconds": result.commit_seconds,
        "rss_mb": _peak_rss_mb(),
    }


def worker_dlt(api: str, token: str, cache: Path) -> dict[str, Any]:
    import dlt
    from dlt.sources.rest_api import rest_api_source

    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    source = rest_api_source(
        {
            "client": {
                "base_url": api + "/",
                "auth": {"type": "bearer", "token": token},
                "paginator": {"type": "cursor", "cursor_path": "next_cursor", "cursor_param": "cursor"},
            },
            "resource_defaults": {
                "write_disposition": "replace",
                "endpoint": {"params": {"limit": PAGE_LIMIT}},
            },
            "resources": [
                {"name": TABLES[e], "endpoint": {"path": e, "data_selector": "items"}} for e in ENTITIES
            ],
        }
    )
    pipelines_dir = cache.parent / "dlt-pipelines"
    pipeline = dlt.pipeline(
        pipeline_name="bench_sync",
        destination=dlt.destinations.duckdb(str(cache)),
        dataset_name="brusnika",
        pipelines_dir=str(pipelines_dir),
    )
    started = time.perf_counter()
    # parquet: dlt's fastest path into DuckDB here (measured at scale 0.1: parquet 7.3k/s, jsonl 5.6k/s,
    # the default insert_values 2.2k/s with 2.5 GB RSS). The peer gets its best configuration.
    pipeline.run(source, loader_file_format=os.environ.get("DLT_FORMAT", "parquet"))
    seconds = time.perf_counter() - started
    import duckdb

    con = duckdb.connect(str(cache), read_only=True)
    records = sum(
        int(con.execute(f"SELECT count(*) FROM brusnika.{TABLES[e]}").fetchone()[0])  # type: ignore[index]  # noqa: S608
        for e in ENTITIES
    )
    con.close()
    return {"records": records, "seconds": seconds, "rss_mb": _peak_rss_mb()}


def _worker_main(argv: list[str]) -> None:
    kind, api, token, cache = argv[0], argv[1], argv[2], Path(argv[3])
    if kind == "anchor":
        out = worker_anchor(api, token, cache)
    elif kind == "dlt":
        out = worker_dlt(api, token, cache)
    else:
        out = worker_ours(api, token, cache, kind)
    print("RESULT " + json.dumps(out), flush=True)


# --- orchestration ---------------------------------------------------------------------------------
def _measure(kind: str, api: str, token: str, cache: Path) -> dict[str, Any]:
    # The token travels in the environment of the worker, not on its command line.
    env = {**os.environ, "PYTHONPATH": str(REPO), "BENCH_TOKEN": token}
    proc = subprocess.run(
        [sys.executable, __file__, "_worker", kind, api, "-", str(cache)],
        env=env,
        capture_output=True,
        text=True,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{kind} worker failed ({proc.returncode}): {proc.stderr[-2000:]}")
    result = json.loads(lines[-1][len("RESULT ") :])
    result["rate"] = result["records"] / result["seconds"]
    return result


def _row(label: str, r: dict[str, Any]) -> str:
    rate = f"{r['rate'] / 1000:,.0f}k/s"
    return f"| {label} | {r['records']:,} | {r['seconds']:.1f} s | {rate} | {r['rss_mb']:,.0f} MB |"


def bench_scale(scale: float, *, changes: int, peer: bool, seed: int, workdir: Path) -> list[str]:
    from kontur.sandbox.server import start_sandbox

    print(f"\n== scale {scale}: starting the sandbox (generation takes a while at scale 10) ==", flush=True)
    t0 = time.perf_counter()
    sandbox = start_sandbox(scale=scale, seed=seed, timeout=3600)
    print(f"sandbox ready in {time.perf_counter() - t0:.0f} s: {sandbox.admin().stats()}", flush=True)
    lines: list[str] = []
    try:
        results: dict[str, dict[str, Any]] = {}
        for kind in ("anchor", "full"):
            cache = workdir / f"{kind}-{scale}.duckdb"
            results[kind] = _measure(kind, sandbox.api_url, sandbox.token, cache)
            print(f"{kind}: {results[kind]}", flush=True)
            if kind == "anchor":
                cache.unlink(missing_ok=True)
        t0 = time.perf_counter()
        drift = sandbox.admin().drift(changes, seed=seed + 1)
        print(f"drift of {changes} changes in {time.perf_counter() - t0:.1f} s: {drift}", flush=True)
        results["incremental"] = _measure(
            "incremental", sandbox.api_url, sandbox.token, workdir / f"full-{scale}.duckdb"
        )
        print(f"incremental: {results['incremental']}", flush=True)
        if peer:
            results["dlt"] = _measure("dlt", sandbox.api_url, sandbox.token, workdir / f"dlt-{scale}.duckdb")
            print(f"dlt: {results['dlt']}", flush=True)
    finally:
        sandbox.stop()
    full, anchor = results["full"], results["anchor"]
    lines.append(f"### Scale {scale:g}\n")
    lines.append("| run | records | time | records/s | peak RSS |")
    lines.append("|---|---|---|---|---|")
    lines.append(_row("anchor: pages → DuckDB `read_json`, no validation", anchor))
    lines.append(_row("**kontur full sync**", full))
    inc = results["incremental"]
    lines.append(_row(f"**kontur incremental** ({changes:,} drift changes)", inc))
    if "dlt" in results:
        lines.append(_row("peer: dlt `rest_api` → DuckDB", results["dlt"]))
    lines.append("")
    lines.append(f"- full sync / anchor: **{full['rate'] / anchor['rate']:.0%}** (target ≥ 50%)")
    if "dlt" in results:
        lines.append(f"- full sync / dlt: **{full['rate'] / results['dlt']['rate']:.1f}×** (target ≥ 4×)")
    lines.append(
        f"- incremental: {inc['records']:,} items received, {inc['loaded']:,} rows written, "
        f"{inc['deleted']:,} deleted, in **{inc['seconds']:.2f} s** (target < 5 s at scale 10)"
    )
    lines.append(f"- peak RSS of the full sync: **{full['rss_mb']:,.0f} MB** (target < 1.5 GB at scale 10)")
    lines.append("")
    print("\n".join(lines), flush=True)
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_worker":
        args = argv[1:]
        args[2] = os.environ["BENCH_TOKEN"]
        _worker_main(args)
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scale", type=float, action="append", help="sandbox scale (repeatable; default 1 and 10)"
    )
    parser.add_argument(
        "--changes", type=int, default=50_000, help="drift changes before the incremental run"
    )
    parser.add_argument("--no-peer", action="store_true", help="skip dlt")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "bench" / "RESULTS-sync.latest.md",
        help="figures of this run (RESULTS-sync.md is the curated copy with notes)",
    )
    args = parser.parse_args(argv)
    scales = args.scale or [1.0, 10.0]
    workdir = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    lines = [
        "## Benchmarks → sync",
        "",
        f"`bench/sync.py`, measured {time.strftime('%Y-%m-%d')} on this machine "
        f"({os.cpu_count()} cores, shared), one run each; every figure in its own process.",
        "",
    ]
    try:
        for scale in scales:
            lines += bench_scale(
                scale, changes=args.changes, peer=not args.no_peer, seed=args.seed, workdir=workdir
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
