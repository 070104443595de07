"""REST sync: Brusnika's list feeds into the DuckDB cache, full or incremental, atomic.

`run_sync(cache, client_or_settings, ...)` is what the dashboard calls (in a background thread of the
process that holds the cache); `kontur sync` is the same from the terminal.

Shape of a run: one fetch thread per entity walks its feed (entities in parallel, pages of one feed in
order, as the cursor demands) and writes each page to a batch file, handing only the path through one
bounded queue; the calling thread stages batches of pages into DuckDB (`kontur.load`). Memory is
bounded by the queue and a batch, not by the dataset. When every feed is done, all entities are
applied in ONE transaction; any failure before that leaves every table as it was and records the run
as failed with the reason.
"""

from __future__ import annotations

import argparse
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from kontur.cache import Cache, CacheLockedError
from kontur.load import DEFAULT_MAX_REJECTED_SHARE, EntityCounts, Mode, Staging
from kontur.models import ENTITIES

if TYPE_CHECKING:
    from kontur.client import BrusnikaClient
    from kontur.config import Settings

logger = logging.getLogger("kontur.sync")

PAGE_LIMIT = 1000  # the contract's maximum page size: fewer round trips
BATCH_PAGES = 16  # pages handed to one read_json call
QUEUE_PAGES = 32  # pages fetched ahead of the loader, over all entities


@dataclass(frozen=True)
class EntityProgress:
    """One entity's progress, reported after each staged batch and when its feed ends."""

    entity: str
    mode: Mode
    pages: int
    records: int
    rejected: int
    done: bool


ProgressCallback = Callable[[EntityProgress], None]


@dataclass
class SyncResult:
    run_id: int
    status: Literal["succeeded", "failed"]
    modes: dict[str, Mode]
    entities: dict[str, EntityCounts] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    commit_seconds: float = 0.0  # of which: the final transaction applying everything

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    @property
    def loaded(self) -> int:
        return sum(c.loaded for c in self.entities.values())

    @property
    def received(self) -> int:
        return sum(c.received for c in self.entities.values())


class _Done:
    pass


_DONE = _Done()


def resolve_modes(cache: Cache, entities: Sequence[str], mode: Mode | None) -> dict[str, Mode]:
    """Per entity: as asked, except that incremental needs a high-water mark (else: full)."""
    states = cache.entity_states()
    modes: dict[str, Mode] = {}
    for entity in entities:
        has_mark = entity in states and states[entity].high_water is not None
        modes[entity] = "full" if mode == "full" or not has_mark else "incremental"
    return modes


def run_sync(
    cache: Cache,
    source: BrusnikaClient | Settings,
    *,
    mode: Mode | None = None,
    entities: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
    max_rejected_share: float = DEFAULT_MAX_REJECTED_SHARE,
    page_limit: int = PAGE_LIMIT,
    batch_pages: int = BATCH_PAGES,
    trigger: str | None = None,
) -> SyncResult:
    """Sync `entities` (default: all) from Brusnika into `cache`. Never raises for a failed sync: the
    result says `failed` with the reason (also in `sync_runs`). `mode=None`: incremental where a
    high-water mark exists, else full. `trigger` says why the run started (`sync_runs.trigger`: the
    scheduler's reasons, `cli`)."""
    from kontur.client import BrusnikaClient

    own_client = not isinstance(source, BrusnikaClient)
    client = BrusnikaClient(source) if own_client else source
    try:
        return _run(
            cache,
            client,
            resolve_modes(cache, entities or ENTITIES, mode),
            progress=progress,
            max_rejected_share=max_rejected_share,
            page_limit=page_limit,
            batch_pages=batch_pages,
            trigger=trigger,
        )
    finally:
        if own_client:
            client.close()


def _run(
    cache: Cache,
    client: BrusnikaClient,
    modes: dict[str, Mode],
    *,
    progress: ProgressCallback | None,
    max_rejected_share: float,
    page_limit: int,
    batch_pages: int,
    trigger: str | None,
) -> SyncResult:
    started = time.perf_counter()
    run_mode = next(iter(set(modes.values()))) if len(set(modes.values())) == 1 else "mixed"
    run_id = cache.start_run("rest", run_mode, trigger=trigger)
    result = SyncResult(run_id=run_id, status="failed", modes=dict(modes))
    states = cache.entity_states()
    staging = Staging(cache, run_id)
    stop = threading.Event()
    pages: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=QUEUE_PAGES)
    threads = []
    try:
        for entity, entity_mode in modes.items():
            since = states[entity].high_water if entity_mode == "incremental" else None
            thread = threading.Thread(
                target=_fetch,
                args=(client, entity, since, page_limit, staging, pages, stop),
                name=f"sync-fetch-{entity}",
                daemon=True,
            )
            threads.append(thread)
            thread.start()
            _report(progress, staging, entity, entity_mode, done=False)
        pending: dict[str, list[tuple[Path, str]]] = {entity: [] for entity in modes}
        active = set(modes)
        while active:
            entity, item = pages.get()
            if isinstance(item, BaseException):
                raise item
            if item is _DONE:
                active.discard(entity)
            else:
                pending[entity].append(item)
            if pending[entity] and (item is _DONE or len(pending[entity]) >= batch_pages):
                staging.add_page_files(entity, pending[entity])
                pending[entity] = []
            if item is _DONE or len(pending[entity]) == 0:
                _report(progress, staging, entity, modes[entity], done=item is _DONE)
        commit_started = time.perf_counter()
        result.entities = staging.commit(modes, max_rejected_share=max_rejected_share)
        result.commit_seconds = time.perf_counter() - commit_started
        result.status = "succeeded"
    except BaseException as exc:  # recorded, then re-raised only if it is not an ordinary failure
        stop.set()
        result.error = _describe(exc)
        logger.warning("sync run %d failed: %s", run_id, result.error)
        cache.fail_run(run_id, result.error)
        if not isinstance(exc, Exception):
            raise
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)
        staging.close()
        result.seconds = time.perf_counter() - started
    return result


def _fetch(
    client: BrusnikaClient,
    entity: str,
    since: datetime | None,
    page_limit: int,
    staging: Staging,
    out: queue.Queue[tuple[str, Any]],
    stop: threading.Event,
) -> None:
    """Walk one feed, writing each page to a batch file and queueing its path."""
    item: Any
    try:
        for number, page in enumerate(
            client.iter_raw_pages(entity, updated_since=since, limit=page_limit), start=1
        ):
            if stop.is_set():
                return
            source = f"GET /{entity} page {number}"
            item = (staging.write_page(page.content, source), source)
            if not _put(out, (entity, item), stop):
                return
        item = _DONE
    except BaseException as exc:
        item = exc
    _put(out, (entity, item), stop)


def _put(out: queue.Queue[tuple[str, Any]], item: tuple[str, Any], stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            out.put(item, timeout=0.2)
            return True
        except queue.Full:
            continue
    return False


def _report(
    progress: ProgressCallback | None, staging: Staging, entity: str, mode: Mode, *, done: bool
) -> None:
    if progress is None:
        return
    stats = staging.stats(entity)
    progress(EntityProgress(entity, mode, stats.pages, stats.received, stats.rejected, done))


def _describe(exc: BaseException) -> str:
    """A reason for sync_runs and the summary. Client errors carry no secrets (the token is never in
    their messages); keep it one line."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --- CLI -----------------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kontur sync", description="Sync the cache from Brusnika over REST."
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--full", action="store_const", const="full", dest="mode", help="full snapshot")
    group.add_argument(
        "--incremental", action="store_const", const="incremental", dest="mode", help="changes since last run"
    )
    parser.add_argument("--entity", action="append", choices=ENTITIES, help="only this list (repeatable)")
    parser.add_argument(
        "--cache", type=Path, help="cache file (default: KONTUR_CACHE_PATH or data/kontur.duckdb)"
    )
    parser.add_argument(
        "--max-rejected-share",
        type=float,
        default=DEFAULT_MAX_REJECTED_SHARE,
        help="fail the run when more than this share of records is malformed (default 0.05)",
    )
    parser.add_argument("--page-size", type=int, default=PAGE_LIMIT, help="items per page, 1-1000")
    parser.add_argument(
        "--sandbox-scale",
        type=float,
        default=0.1,
        help="without BRUSNIKA_API_URL: scale of the embedded demo sandbox (default 0.1)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from rich.console import Console

    from kontur.config import Settings, SettingsError

    args = _parser().parse_args(argv)
    console = Console(stderr=True)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        console.print(f"[red]{exc}[/red]")
        return 2
    try:
        cache = Cache(args.cache or settings.cache_path)
    except CacheLockedError as exc:
        console.print(f"[red]{exc}[/red]")
        return 3
    sandbox = None
    try:
        if settings.uses_sandbox:
            from pydantic import SecretStr

            from kontur.sandbox.server import start_sandbox

            console.print(
                f"BRUSNIKA_API_URL is not set: syncing from an embedded sandbox (scale {args.sandbox_scale})."
            )
            sandbox = start_sandbox(scale=args.sandbox_scale)
            settings = settings.model_copy(
                update={"api_url": sandbox.api_url, "api_token": SecretStr(sandbox.token)}
            )
        result = _run_with_progress(cache, settings, args, console)
    finally:
        if sandbox is not None:
            sandbox.stop()
        cache.close()
    _print_summary(result, console)
    return 0 if result.ok else 1


def _run_with_progress(
    cache: Cache, settings: Settings, args: argparse.Namespace, console: Any
) -> SyncResult:
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    kwargs: dict[str, Any] = {
        "mode": args.mode,
        "entities": args.entity,
        "max_rejected_share": args.max_rejected_share,
        "page_limit": args.page_size,
        "trigger": "cli",
    }
    if args.quiet:
        return run_sync(cache, settings, **kwargs)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<12}"),
        BarColumn(),
        TextColumn("{task.fields[mode]:<11} {task.fields[pages]:>6} pages {task.fields[records]:>9} records"),
        TextColumn("{task.fields[rejected]} rejected"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        tasks: dict[str, Any] = {}

        def on_progress(p: EntityProgress) -> None:
            if p.entity not in tasks:
                # No totals on the wire (the feed has no count): the bar pulses until the feed ends.
                tasks[p.entity] = bar.add_task(
                    p.entity, total=None, mode=p.mode, pages=0, records=0, rejected=0
                )
            task = tasks[p.entity]
            bar.update(task, pages=p.pages, records=p.records, rejected=p.rejected)
            if p.done:
                bar.update(task, total=1, completed=1)

        return run_sync(cache, settings, progress=on_progress, **kwargs)


def _print_summary(result: SyncResult, console: Any) -> None:
    from rich.table import Table

    table = Table(title=f"sync run {result.run_id}: {result.status} in {result.seconds:.1f} s")
    for column in ("entity", "mode", "pages", "received", "loaded", "deleted", "rejected", "older ignored"):
        table.add_column(column, justify="left" if column in ("entity", "mode") else "right")
    for entity, mode in result.modes.items():
        counts = result.entities.get(entity)
        if counts is None:
            table.add_row(entity, mode, *["—"] * 6)
        else:
            table.add_row(
                entity,
                mode,
                str(counts.pages),
                str(counts.received),
                str(counts.loaded),
                str(counts.deleted),
                str(counts.rejected),
                str(counts.ignored_older),
            )
    Console = type(console)
    Console(file=sys.stdout).print(table)
    if result.error:
        console.print(f"[red]failed:[/red] {result.error}")
        console.print("The cache is exactly as it was before this run.")
