"""Paired benchmark of two trees of this repository (e.g. `main` before a change and the branch after),
interleaved on one sandbox (sync) or one broker (Kafka), for a machine too noisy for separate runs.

    git archive main | tar -x -C /tmp/base      # the tree to compare with (no .git needed)
    .venv/bin/python bench/paired.py sync --old /tmp/base --rounds 6
    .venv/bin/python bench/paired.py kafka --old /tmp/base --rounds 8

sync: one sandbox at scale 1; each round runs `bench/sync.py`'s anchor worker, then the full-sync worker
of each tree (order alternating between rounds: ABBA), drifts the sandbox by 50,000 changes, then each
tree's incremental worker on its own cache (reverse order). kafka: one broker holding the scale-1
snapshot; each round the bare consume loop, then each tree's ingest worker (order alternating), each
against a quiet broker. Every worker is its own process, running that tree's code (`PYTHONPATH`), and
is measured by wall time and by CPU time (user + system of the worker process): the CPU time hardly
moves with the machine's load, the wall time does. One JSON line per round on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

NEW = Path(__file__).resolve().parent.parent
if str(NEW) not in sys.path:
    sys.path.insert(0, str(NEW))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _worker(root: Path, script: str, args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    before = _children_cpu()
    proc = subprocess.run(
        [sys.executable, str(root / "bench" / script), *args],
        env={**os.environ, "PYTHONPATH": str(root), **(env or {})},
        capture_output=True,
        text=True,
        cwd=root,
    )
    if proc.returncode:
        raise RuntimeError(f"{script} {args[:2]} in {root} failed: {proc.stderr[-2000:]}")
    line = proc.stdout.strip().splitlines()[-1]
    result = json.loads(line.removeprefix("RESULT "))
    result["cpu"] = _children_cpu() - before
    return result


def bench_sync(trees: dict[str, Path], rounds: int, scale: float) -> None:
    from kontur.sandbox.server import start_sandbox

    work = Path(tempfile.mkdtemp(prefix="kontur-paired-sync-"))
    sandbox = start_sandbox(scale=scale, seed=7, timeout=3600)

    def sync_worker(root: Path, kind: str, cache: Path) -> dict[str, Any]:
        # The token travels in the environment of the worker, not on its command line.
        args = ["_worker", kind, sandbox.api_url, "-", str(cache)]
        return _worker(root, "sync.py", args, {"BENCH_TOKEN": sandbox.token})

    try:
        for n in range(1, rounds + 1):
            order = list(trees.items()) if n % 2 else list(reversed(trees.items()))
            anchor = sync_worker(NEW, "anchor", work / "anchor.duckdb")
            full = {name: sync_worker(root, "full", work / f"{name}.duckdb") for name, root in order}
            sandbox.admin().drift(50_000, seed=100 + n)
            incr = {
                name: sync_worker(root, "incremental", work / f"{name}.duckdb")
                for name, root in reversed(order)
            }
            row: dict[str, Any] = {
                "round": n,
                "load": round(os.getloadavg()[0], 1),
                "anchor_s": round(anchor["seconds"], 2),
            }
            for name in trees:
                row |= {
                    f"full_{name}_s": round(full[name]["seconds"], 2),
                    f"full_{name}_cpu": round(full[name]["cpu"], 2),
                    f"full_{name}_ratio": round(anchor["seconds"] / full[name]["seconds"], 3),
                    f"full_{name}_rss": round(full[name]["rss_mb"]),
                    f"incr_{name}_s": round(incr[name]["seconds"], 2),
                    f"incr_{name}_cpu": round(incr[name]["cpu"], 2),
                }
            print(json.dumps(row), flush=True)
            for path in work.glob("*.duckdb*"):
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink()
    finally:
        sandbox.stop()
        shutil.rmtree(work, ignore_errors=True)


def bench_kafka(trees: dict[str, Path], rounds: int, scale: float) -> None:
    sys.path.insert(0, str(NEW / "bench"))
    import kafka as kafka_bench  # bench/kafka.py: the broker, the publish, the quiet-broker wait

    from kontur.processes import stop_process_group

    work = Path(tempfile.mkdtemp(prefix="kontur-paired-kafka-"))
    broker, bootstrap = kafka_bench._start_broker(work / "broker")
    try:
        published, _seconds = kafka_bench._publish(bootstrap, scale)
        for n in range(1, rounds + 1):
            order = list(trees.items()) if n % 2 else list(reversed(trees.items()))
            kafka_bench._wait_broker_idle(broker.pid)
            bare = _worker(NEW, "kafka.py", ["--worker", "bare", "--bootstrap", bootstrap])
            ingest = {}
            for name, root in order:
                kafka_bench._wait_broker_idle(broker.pid)
                cache = work / f"{name}-{n}.duckdb"
                ingest[name] = _worker(
                    root, "kafka.py", ["--worker", "ingest", "--bootstrap", bootstrap, "--cache", str(cache)]
                )
                if ingest[name]["messages"] != published or ingest[name]["rejected"]:
                    raise RuntimeError(
                        f"{name}: counts disagree with the {published} published: {ingest[name]}"
                    )
                shutil.rmtree(cache.with_name(cache.name + ".staging"), ignore_errors=True)
                cache.unlink(missing_ok=True)
            row: dict[str, Any] = {
                "round": n,
                "load": round(os.getloadavg()[0], 1),
                "bare_s": round(bare["seconds"], 2),
            }
            for name in trees:
                row |= {
                    f"{name}_s": round(ingest[name]["seconds"], 2),
                    f"{name}_cpu": round(ingest[name]["cpu"], 2),
                    f"{name}_ratio": round(bare["seconds"] / ingest[name]["seconds"], 3),
                    f"{name}_rss": round(ingest[name]["rss_mb"]),
                }
            print(json.dumps(row), flush=True)
    finally:
        stop_process_group(broker)
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("sync", "kafka"))
    parser.add_argument("--old", type=Path, required=True, help="the other tree (e.g. `git archive main`)")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    trees = {"old": args.old.resolve(), "new": NEW}
    (bench_sync if args.what == "sync" else bench_kafka)(trees, args.rounds, args.scale)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
