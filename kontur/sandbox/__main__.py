"""`python -m kontur.sandbox` / `kontur sandbox`: generate the world and serve it on 127.0.0.1.

Prints one line `READY <port>` on stdout once it accepts connections (what `start_sandbox` waits
for). The token comes from --token, else $SANDBOX_TOKEN, else is generated and written with 0600
permissions to data/.sandbox-token; it is never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import secrets
import socket
import sys
from pathlib import Path

TOKEN_FILE = Path("data/.sandbox-token")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kontur sandbox", description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--scale", type=float, default=0.1, help="1 = Brusnika today (100k premises)")
    p.add_argument("--token", default=None, help="else $SANDBOX_TOKEN, else generated")
    p.add_argument(
        "--today",
        type=dt.date.fromisoformat,
        default=None,
        help="base date of the generated data (YYYY-MM-DD, default today in UTC)",
    )
    modes = p.add_argument_group("data modes")
    modes.add_argument(
        "--hostile",
        action="store_true",
        help="hostile free text and URLs (markup, scripts, formulas, 10 kB, RTL, emoji)",
    )
    modes.add_argument(
        "--edge-cases",
        dest="edge_cases",
        action="store_true",
        help="add the records the contract allows but the generator never makes",
    )
    modes.add_argument(
        "--drift-per-second",
        dest="drift_per_second",
        type=float,
        default=0.0,
        help="apply N realistic changes per second, stamped with the wall clock",
    )
    faults = p.add_argument_group("faults (on /api/v1 only)")
    faults.add_argument(
        "--fault-5xx", dest="server_error", type=float, default=0.0, help="share of answers that are 500/503"
    )
    faults.add_argument(
        "--fault-429", dest="rate_limit", type=float, default=0.0, help="share of answers that are 429"
    )
    faults.add_argument(
        "--retry-after", dest="retry_after", type=int, default=1, help="Retry-After seconds of a 429"
    )
    faults.add_argument("--latency-ms", dest="latency_ms", type=int, default=0)
    faults.add_argument(
        "--fault-drop",
        dest="drop",
        type=float,
        default=0.0,
        help="share of connections dropped without an answer",
    )
    faults.add_argument(
        "--fault-malformed",
        dest="malformed",
        type=float,
        default=0.0,
        help="share of list records rendered malformed",
    )
    p.add_argument(
        "--kafka",
        metavar="BOOTSTRAP",
        default=None,
        help="also publish the snapshot and every change to these Kafka bootstrap servers",
    )
    return p


def resolve_token(given: str | None) -> str:
    if given:
        return given
    env = os.environ.get("SANDBOX_TOKEN")
    if env:
        return env
    token = secrets.token_urlsafe(24)
    TOKEN_FILE.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(TOKEN_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token)
    os.chmod(TOKEN_FILE, 0o600)
    print(f"sandbox token written to {TOKEN_FILE}", file=sys.stderr)
    return token


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    import uvicorn

    from .app import build_app
    from .faults import Faults
    from .state import SandboxState
    from .store import Store

    if args.drift_per_second < 0:
        print("--drift-per-second must be >= 0", file=sys.stderr)
        return 2
    token = resolve_token(args.token)
    faults = Faults(
        server_error=args.server_error,
        rate_limit=args.rate_limit,
        retry_after=args.retry_after,
        latency_ms=args.latency_ms,
        drop=args.drop,
        malformed=args.malformed,
        hostile=args.hostile,
    )
    today = args.today or dt.datetime.now(dt.UTC).date()
    store = Store(args.seed, args.scale, today, edge_cases=args.edge_cases, hostile=args.hostile)
    state = SandboxState(store=store, token=token, faults=faults)
    publisher = None
    if args.kafka:  # before READY: whoever waits for READY finds the snapshot on the broker
        from .kafka_publish import KafkaPublisher

        publisher = KafkaPublisher(store, args.kafka, faults=faults)
        publisher.start()
        state.publisher = publisher
    app = build_app(state)
    # Bind first so that --port 0 can report the port it got, then hand the socket to uvicorn.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(512)
    config = uvicorn.Config(
        app,
        http="httptools",
        loop="uvloop",
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=30,
    )
    server = uvicorn.Server(config)

    async def serve() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if server.started:
            if args.drift_per_second:
                state.drift.set_rate(args.drift_per_second)
            print(f"READY {sock.getsockname()[1]}", flush=True)
        await task

    import uvloop

    try:
        uvloop.run(serve())
    finally:
        if publisher is not None:
            publisher.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
