"""Kafka benchmark: messages/s from Brusnika's topics into the DuckDB cache, beside a bare consume loop.

  1. the sandbox (`--kafka`) publishes its snapshot at the chosen scale into a noida-db broker started
     here (scale 1 = 10 cities ... 100k premises, 500k leads, 20k time slots: ~620k messages);
  2. anchor - a bare `confluent_kafka` loop over the same seven topics: `assign()` every partition
     from the beginning, `consume()` in batches until every partition reports its end, touching each
     value; nothing else (no parsing, no DuckDB). Made as fast as a plain loop gets on this broker
     (see `worker_bare`), so the ratio is not flattered by a slow anchor;
  3. ingest - `kontur.kafka.ingest.KafkaIngest` into an empty cache file: per-message conversion
     (JSON check, tombstones), staging through the REST sync's load path (DuckDB `read_json` with
     explicit types, SQL checks, pydantic fallback armed), one transaction per batch with the
     partitions' offsets, then the offset commit to the group.
Both run in their own processes (so peak RSS is each one's own), alternately, `--rounds` times, each
against a quiet broker (`_wait_broker_idle`); the medians are reported, and their ratio (target:
ingest >= 50% of the anchor).

    .venv/bin/python bench/kafka.py                # scale 1, 3 rounds, writes bench/RESULTS-kafka.latest.md
    .venv/bin/python bench/kafka.py --scale 0.1 --rounds 1 --no-write
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import socket
import stat
import statistics
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

from kontur.kafka.topics import TOPICS  # noqa: E402
from kontur.processes import free_port, stop_process_group  # noqa: E402

# A run writes this file; the curated RESULTS-kafka.md (figures, where the time goes) is edited by hand.
RESULTS = REPO / "bench" / "RESULTS-kafka.latest.md"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# --- workers (each in its own process) -------------------------------------------------------------
def worker_bare(bootstrap: str, batch: int, *, pause_at_end: bool = True) -> dict[str, Any]:
    """The anchor: consume every partition to its end, touching each value, nothing else. As strong
    as a plain loop gets on this broker: it takes what the client holds without waiting
    (`consume(n, timeout)` blocks until it has n messages or the timeout passed, which would idle
    at the end) and, with `pause_at_end`, pauses each partition at its end, as KafkaIngest does
    (noida-db answers a fetch at the end at once, so an unpaused ended partition is re-fetched in
    a loop that takes CPU from the rest)."""
    from confluent_kafka import Consumer, KafkaError, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-bare-{os.getpid()}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "fetch.max.bytes": 64 * 1024 * 1024,
            "max.partition.fetch.bytes": 8 * 1024 * 1024,
            "queued.max.messages.kbytes": 256 * 1024,
            "receive.message.max.bytes": 1_000_000_000,  # as KafkaIngest: see consumer_config
        }
    )
    metadata = consumer.list_topics(timeout=30)
    parts = [TopicPartition(t, p, 0) for t in TOPICS.values() for p in metadata.topics[t].partitions]
    started = time.perf_counter()
    consumer.assign(parts)
    at_end: set[tuple[str, int]] = set()
    messages = value_bytes = 0
    while len(at_end) < len(parts):
        chunk = consumer.consume(batch, 0) or consumer.consume(1, 0.05)
        for message in chunk:
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    at_end.add((message.topic(), message.partition()))
                    if pause_at_end:
                        consumer.pause([TopicPartition(message.topic(), message.partition())])
                continue
            messages += 1
            value = message.value()
            value_bytes += len(value) if value is not None else 0
    seconds = time.perf_counter() - started
    consumer.close()
    return {"messages": messages, "bytes": value_bytes, "seconds": seconds, "rss_mb": _peak_rss_mb()}


def worker_ingest(bootstrap: str, batch: int | None, cache_path: str) -> dict[str, Any]:
    from kontur.cache import Cache
    from kontur.config import Settings
    from kontur.kafka.ingest import KafkaIngest
    from kontur.kafka.options import ConsumeOptions

    settings = Settings(kafka_bootstrap_servers=bootstrap, kafka_group_id=f"bench-ingest-{os.getpid()}")
    with Cache(cache_path) as cache:
        # The consumer's own defaults (byte-bounded batches) unless --ingest-batch says otherwise.
        options = ConsumeOptions(until_caught_up=True)
        if batch:
            options = ConsumeOptions(batch_max=batch, until_caught_up=True)
        ingest = KafkaIngest(cache, settings, options=options)
        stats = ingest.run(threading.Event())
        cur = cache.reader()
        rows = {t: cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("premises", "leads")}  # noqa: S608
        cur.close()
    return {
        "messages": stats.messages,
        "seconds": stats.seconds,
        "batches": stats.batches,
        "rejected": stats.rejected,
        "rows": rows,
        "rss_mb": _peak_rss_mb(),
    }


# --- orchestration ---------------------------------------------------------------------------------
def _start_broker(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    import noida_db
    from confluent_kafka.admin import AdminClient

    binary = Path(noida_db.__file__).with_name("noida-db")
    if not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    port = free_port()
    proc = subprocess.Popen(
        [str(binary), "start", "--only", "kafka", "--host", "127.0.0.1", "--kafka-port", str(port),
         "--data-dir", str(data_dir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("noida-db did not start") from None
            time.sleep(0.1)
    bootstrap = f"127.0.0.1:{port}"
    AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=30)
    return proc, bootstrap


def _broker_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _wait_broker_idle(pid: int, timeout: float = 60.0) -> None:
    """Wait until the broker has used no CPU for 2 s: each worker starts against a quiet broker.
    noida-db rewrites its whole data file (~6 s of a core at scale 1) after an offset commit, and the
    ingest commits at its end: without this wait that rewrite would run into the next worker's time."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 4 and time.monotonic() < deadline:
        before = _broker_cpu(pid)
        time.sleep(0.5)
        quiet = quiet + 1 if _broker_cpu(pid) - before < 0.03 else 0


def _run_worker(
    kind: str, bootstrap: str, batch: int | None, cache_path: str | None = None
) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", kind, "--bootstrap", bootstrap]
    if batch:
        cmd += ["--batch" if kind == "bare" else "--ingest-batch", str(batch)]
    if cache_path:
        cmd += ["--cache", cache_path]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=REPO).stdout
    return json.loads(out.strip().splitlines()[-1])


def _publish(bootstrap: str, scale: float) -> tuple[int, float]:
    from kontur.sandbox.server import start_sandbox

    started = time.perf_counter()
    sandbox = start_sandbox(scale=scale, seed=7, extra_args=["--kafka", bootstrap], timeout=600)
    seconds = time.perf_counter() - started
    try:
        live = sum(sandbox.admin().stats()["live"].values())
    finally:
        sandbox.stop()
    return live, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=20_000, help="messages per consume() of the bare loop")
    parser.add_argument(
        "--ingest-batch", type=int, default=None,
        help="messages per transaction at most (default: the consumer's own, bounded by bytes too)",
    )  # fmt: skip
    parser.add_argument("--no-write", action="store_true", help="do not write bench/RESULTS-kafka.latest.md")
    parser.add_argument("--worker", choices=("bare", "ingest"), help=argparse.SUPPRESS)
    parser.add_argument("--bootstrap", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker == "bare":
        print(json.dumps(worker_bare(args.bootstrap, args.batch)))
        return 0
    if args.worker == "ingest":
        print(json.dumps(worker_ingest(args.bootstrap, args.ingest_batch, args.cache)))
        return 0

    work = Path(tempfile.mkdtemp(prefix="kontur-bench-kafka-"))
    broker, bootstrap = _start_broker(work / "broker")
    try:
        published, publish_seconds = _publish(bootstrap, args.scale)
        print(f"scale {args.scale}: sandbox published {published:,} messages ({publish_seconds:.1f} s "
              "including generating the world)", flush=True)  # fmt: skip
        bare: list[dict[str, Any]] = []
        ingest: list[dict[str, Any]] = []
        loads: list[float] = []  # 1-minute load average after each round: the machine is shared
        for round_no in range(1, args.rounds + 1):
            _wait_broker_idle(broker.pid)
            bare.append(_run_worker("bare", bootstrap, args.batch))
            cache = work / f"cache-{round_no}.duckdb"
            _wait_broker_idle(broker.pid)
            ingest.append(_run_worker("ingest", bootstrap, args.ingest_batch, str(cache)))
            loads.append(os.getloadavg()[0])
            shutil.rmtree(cache.with_name(cache.name + ".staging"), ignore_errors=True)
            cache.unlink(missing_ok=True)
            b, i = bare[-1], ingest[-1]
            print(
                f"round {round_no}: bare {b['messages'] / b['seconds']:,.0f} msg/s, "
                f"ingest {i['messages'] / i['seconds']:,.0f} msg/s ({i['batches']} batches)",
                flush=True,
            )
            if b["messages"] != published or i["messages"] != published or i["rejected"]:
                raise RuntimeError(f"counts disagree: published {published}, bare {b}, ingest {i}")
    finally:
        stop_process_group(broker)
        shutil.rmtree(work, ignore_errors=True)

    bare_rate = statistics.median(r["messages"] / r["seconds"] for r in bare)
    ingest_rate = statistics.median(r["messages"] / r["seconds"] for r in ingest)
    ratio = ingest_rate / bare_rate
    summary = {
        "scale": args.scale,
        "messages": published,
        "rounds": args.rounds,
        "batch": args.batch,
        "ingest_batch": args.ingest_batch,
        "load_avg": [round(x, 1) for x in loads],
        "bare_msgs_per_s": round(bare_rate),
        "ingest_msgs_per_s": round(ingest_rate),
        "ratio": round(ratio, 3),
        "bare_rss_mb": round(max(r["rss_mb"] for r in bare)),
        "ingest_rss_mb": round(max(r["rss_mb"] for r in ingest)),
        "ingest_seconds_median": round(statistics.median(r["seconds"] for r in ingest), 2),
        "bare_seconds_median": round(statistics.median(r["seconds"] for r in bare), 2),
    }
    verdict = "meets" if ratio >= 0.5 else "MISSES"
    print(f"\nbare consume {bare_rate:,.0f} msg/s, topic -> DuckDB {ingest_rate:,.0f} msg/s: "
          f"ratio {ratio:.0%} ({verdict} the 50% target)")  # fmt: skip
    print(json.dumps(summary))
    if not args.no_write:
        _write_results(summary, bare, ingest)
    return 0


def _write_results(summary: dict[str, Any], bare: list[dict[str, Any]], ingest: list[dict[str, Any]]) -> None:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor(),
    )  # fmt: skip
    rows = "\n".join(
        f"| {n} | {b['messages'] / b['seconds']:,.0f} | {i['messages'] / i['seconds']:,.0f} | "
        f"{i['messages'] / i['seconds'] / (b['messages'] / b['seconds']):.0%} | {i['batches']} | "
        f"{i['rss_mb']:,.0f} MB | {load} |"
        for n, (b, i, load) in enumerate(zip(bare, ingest, summary["load_avg"], strict=True), start=1)
    )
    batches = (
        f"batches of up to {summary['ingest_batch']:,} messages"
        if summary["ingest_batch"]
        else "the consumer's default batches (up to 150,000 messages or 64 MB of values)"
    )
    anchor = (
        f"| bare consume loop (anchor) | {summary['bare_msgs_per_s']:,} | "
        f"{summary['bare_seconds_median']} s | {summary['bare_rss_mb']} MB |"
    )
    ours = (
        f"| topic -> DuckDB (`KafkaIngest`) | {summary['ingest_msgs_per_s']:,} | "
        f"{summary['ingest_seconds_median']} s | {summary['ingest_rss_mb']} MB |"
    )
    RESULTS.write_text(
        f"""# Kafka benchmark (`bench/kafka.py`)

{time.strftime("%Y-%m-%d %H:%M")}. Scale {summary["scale"]} ({summary["messages"]:,} messages over the seven
topics, 3 partitions each, published by the sandbox into a local noida-db broker), {batches},
{summary["rounds"]} rounds, medians. Machine: {os.cpu_count()} cores ({cpu}), shared.

| path | messages/s | wall time | peak RSS |
|---|---|---|---|
{anchor}
{ours}

Ratio ingest / anchor: **{summary["ratio"]:.0%}** (target >= 50%).

| round | bare msg/s | ingest msg/s | ratio | batches | ingest peak RSS | load avg (1 min) |
|---|---|---|---|---|---|---|
{rows}

Reproduce: `.venv/bin/python bench/kafka.py` (`--scale`, `--rounds`, `--batch`, `--ingest-batch`).
""",
        encoding="utf-8",
    )
    print(f"wrote {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    raise SystemExit(main())
