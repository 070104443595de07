"""`kontur consume`: the consume loop from the terminal until SIGTERM/SIGINT (or caught up)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from kontur.cache import Cache, CacheLockedError

from .ingest import KafkaIngest
from .options import BatchResult, ConsumeOptions, describe


# --- CLI -----------------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kontur consume",
        description="Feed the cache from Brusnika's Kafka topics until SIGTERM/SIGINT (or caught up).",
    )
    parser.add_argument("--cache", type=Path, help="cache file (default: KONTUR_CACHE_PATH)")
    parser.add_argument("--bootstrap", help="bootstrap servers (default: KAFKA_BOOTSTRAP_SERVERS)")
    parser.add_argument("--group", help="consumer group id (default: KAFKA_GROUP_ID or kontur-dashboard)")
    parser.add_argument("--until-caught-up", action="store_true", help="exit once every partition is read")
    parser.add_argument(
        "--batch", type=int, default=ConsumeOptions.batch_max, help="messages per transaction at most"
    )
    parser.add_argument("--linger", type=float, default=ConsumeOptions.linger, help="seconds a batch waits")
    parser.add_argument("--quiet", action="store_true", help="no per-batch lines")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from kontur.config import Settings, SettingsError

    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")  # fmt: skip
    try:
        settings = Settings.from_env()
        update: dict[str, Any] = {}
        if args.bootstrap:
            update["kafka_bootstrap_servers"] = args.bootstrap
        if args.group:
            update["kafka_group_id"] = args.group
        settings = settings.model_copy(update=update)
        settings.kafka_client_config()  # fails early, naming the variable, when nothing is set
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        cache = Cache(args.cache or settings.cache_path)
    except CacheLockedError as exc:
        print(exc, file=sys.stderr)
        return 3
    stop = threading.Event()
    signalled: list[str] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        signalled.append(signal.Signals(signum).name)
        stop.set()  # the loop finishes (and commits) the batch in hand, then closes cleanly

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)

    def on_batch(batch: BatchResult) -> None:
        if not args.quiet:
            loaded = sum(c.loaded for c in batch.counts.values())
            rejected = sum(c.rejected for c in batch.counts.values())
            print(f"batch: {batch.messages} messages, {loaded} rows written, {rejected} rejected", flush=True)

    ingest = KafkaIngest(
        cache,
        settings,
        options=ConsumeOptions(
            batch_max=args.batch, linger=args.linger, until_caught_up=args.until_caught_up
        ),
        on_batch=on_batch,
    )
    try:
        stats = ingest.run(stop)
    except Exception as exc:
        print(f"consumer failed: {describe(exc)}", file=sys.stderr)
        return 1
    finally:
        cache.close()
    if signalled:
        stats.stopped_by = f"signal {signalled[0]}"
    print(
        f"kafka run {stats.run_id}: {stats.messages} messages in {stats.batches} batches, "
        f"{stats.loaded} rows written, {stats.deleted} deleted, {stats.rejected} rejected, "
        f"{stats.ignored_older} older ignored; stopped by {stats.stopped_by} after {stats.seconds:.1f} s",
        flush=True,
    )
    return 0
