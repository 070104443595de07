"""When the dashboard process syncs over REST: a daemon thread of the process, never a browser session.

What it runs, in this order of precedence:
- a press of «Синхронизировать» (`run_now`): at once (incremental where a high-water mark exists, else
  full), whatever the schedule says;
- after a failed automatic run: the same run again after a capped exponential backoff with jitter
  (`kontur.retry.RetryPolicy.backoff`: base `sync_interval`, cap `max(sync_interval, 15 min)`);
- the first fill: an empty cache (no entity has a mark) gets a full sync as soon as the process starts,
  whoever opens a page, and only once (it belongs to the process: sessions coming and going cannot lose
  or repeat it);
- a full reconciling sync every `full_sync_every` seconds (catching the deletes an incremental cannot
  see), at `full_sync_at` local time when that is set and the period is at least a day;
- an incremental sync every `sync_interval` seconds (0: none), the first one at start.

`auto_sync=False` (`KONTUR_AUTO_SYNC=0`): nothing automatic at all, only presses of the button; tests
use it to keep a cache exactly as they filled it. Unset or true: the schedule above.

On a cache fed from Kafka (`KAFKA_BOOTSTRAP_SERVERS` set, or `kafka_offsets` has rows) the schedule
runs only REST incrementals, and only of the entities that have a REST high-water mark; it never
fills or reconciles with a full sync (refused there, see `kontur.load.apply.refuse_full_if_kafka_fed`).

Every run is a `sync_runs` row whose `trigger` says why it ran: first | interval | full | retry | manual.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from kontur.cache import Cache
from kontur.load import Mode, kafka_groups
from kontur.models import ENTITIES
from kontur.retry import RetryPolicy

if TYPE_CHECKING:
    from kontur.config import Settings
    from kontur.sync import EntityProgress

log = logging.getLogger("kontur.scheduler")

# A failed automatic run is retried after at least a tenth of this and at most this many seconds
# (plus the interval, when it is longer): Brusnika down for an hour costs a few requests, not a flood.
BACKOFF_CAP = 900.0
# full_sync_at applies to periods of a day or more; the next full runs at the first such time of day
# at least this long before its due time (a daily full at 03:30 that ended at 03:30:05 must run again
# tomorrow at 03:30, not the day after).
_AT_SLACK = 12 * 3600.0
_SHOWN_TRIGGERS = frozenset({"first", "manual"})


@dataclass(frozen=True)
class SyncProgress:
    """What the pages show about the scheduler's current or last run. Replaced whole (never mutated)
    by the sync thread, so a page reading it sees one consistent snapshot."""

    state: str = "idle"  # idle | running | done | failed
    trigger: str | None = None  # first | interval | full | retry | manual
    entity: str | None = None
    entities_done: int = 0
    entities_total: int = 0
    rows: int = 0
    message: str = ""
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def fraction(self) -> float:
        if self.entities_total == 0:
            return 0.0
        return min(1.0, self.entities_done / self.entities_total)

    @property
    def shown(self) -> bool:
        """A run someone waits for (the first fill, a press of the button): pages show its progress.
        The schedule's own runs stay out of the way; the freshness line tells about them."""
        return self.trigger in _SHOWN_TRIGGERS


@dataclass(frozen=True)
class ScheduleStatus:
    """The schedule as the freshness line and the sync page show it (a snapshot)."""

    automatic: bool  # auto_sync is not False
    interval: float  # seconds between incrementals (0: none)
    running: bool
    failures: int  # consecutive failed automatic runs
    last_error: str | None  # of the last failed run (automatic or manual), until a run succeeds
    next_at: float | None  # time.time() of the next automatic run; None: none planned
    next_trigger: str | None
    kafka_fed: bool


@dataclass(frozen=True)
class Job:
    trigger: str
    mode: Mode | None  # None: incremental where a mark exists, else full
    entities: tuple[str, ...] = ENTITIES


class SyncFailedError(RuntimeError):
    """The sync ran and failed, or was refused; its reason is recorded in `sync_runs` when it ran."""


class Scheduler:
    """One per dashboard process (`kontur.runtime.Runtime.sync`). `start()` starts its thread once;
    `run_now()` is the button; `status()`/`progress` are for the pages; `stop()` at exit."""

    def __init__(
        self,
        cache: Cache,
        settings: Settings,
        *,
        kafka: bool = False,
        on_change: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.cache = cache
        self.settings = settings
        self.kafka = kafka
        self.automatic = settings.auto_sync is not False
        self.interval = settings.sync_interval
        self._on_change = on_change
        self._clock = clock
        self._rng = rng or random.Random()
        base = self.interval if self.interval > 0 else 60.0
        self.backoff = RetryPolicy(backoff_base=base, backoff_cap=max(base, BACKOFF_CAP))
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._requested = False
        self._busy = False
        self._started = False  # the automatic first decision (fill or incremental) is made
        self._next_incremental: float | None = None
        self._next_full: float | None = None
        self._failures = 0
        self._retry: Job | None = None
        self._retry_at: float | None = None
        self._last_error: str | None = None
        self.progress = SyncProgress()

    def __repr__(self) -> str:
        return f"Scheduler({self.cache!r}, automatic={self.automatic}, interval={self.interval})"

    # --- what the pages call ---------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """A sync is running or asked for and about to run."""
        with self._cond:
            return self._busy or self._requested

    def run_now(self) -> bool:
        """«Синхронизировать»: run one sync now. False when one is already running or asked for."""
        with self._cond:
            if self._busy or self._requested:
                return False
            self._requested = True
            self.progress = SyncProgress(
                state="running", trigger="manual", started_at=self._clock(), message="Запуск…"
            )
            self._cond.notify_all()
            return True

    def wait(self, timeout: float | None = None) -> SyncProgress:
        """Until no sync is running or asked for (or `timeout`); the last run's progress."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._busy or self._requested:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._cond.wait(left)
        return self.progress

    def status(self) -> ScheduleStatus:
        with self._cond:
            plans = [
                (at, trigger)
                for at, trigger in (
                    (self._retry_at, "retry"),
                    (None if self._retry_at else self._next_full, "full"),
                    (None if self._retry_at else self._next_incremental, "interval"),
                )
                if at is not None
            ]
            next_at, next_trigger = min(plans) if plans and self.automatic else (None, None)
            return ScheduleStatus(
                automatic=self.automatic,
                interval=self.interval,
                running=self._busy or self._requested,
                failures=self._failures,
                last_error=self._last_error,
                next_at=next_at,
                next_trigger=next_trigger,
                kafka_fed=self.kafka,
            )

    # --- the thread ------------------------------------------------------------------------------
    def start(self) -> None:
        with self._cond:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._loop, name="kontur-sync", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop planning; a run in progress finishes (a REST run is one transaction at its end).
        True when the thread has ended within `timeout`."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def _loop(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
                try:
                    job, wait = self._next_job()
                except Exception:  # e.g. the cache closing under us: look again later, never die
                    log.exception("planning the next sync failed")
                    job, wait = None, 5.0
                if job is None:
                    self._cond.wait(wait)
                    continue
                self._busy = True
                self._requested = False
            try:
                self._execute(job)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _next_job(self) -> tuple[Job | None, float | None]:
        """What to run now, or how long to wait (None: until woken). Called holding `_cond`."""
        if self._requested:
            return Job("manual", None), None
        if not self.automatic:
            return None, None
        now = self._clock()
        kafka_fed = self._kafka_fed()
        if not self._started:
            self._started = True
            self._plan_full(now)
            if not kafka_fed and not self._marked_entities():
                return Job("first", "full"), None
            if self.interval > 0:
                self._next_incremental = now
        if self._retry is not None and self._retry_at is not None:
            if now >= self._retry_at:
                return self._retry, None
            return None, self._retry_at - now
        if not kafka_fed and self._next_full is not None and now >= self._next_full:
            return Job("full", "full"), None
        if self._next_incremental is not None and now >= self._next_incremental:
            if kafka_fed:
                marked = self._marked_entities()
                if not marked:  # the stream fills the cache; nothing for REST to resume from
                    self._next_incremental = now + self.interval
                    return None, self.interval
                return Job("interval", "incremental", marked), None
            return Job("interval", None), None
        due = [t for t in (self._next_incremental, None if kafka_fed else self._next_full) if t is not None]
        return None, (max(0.0, min(due) - now) if due else None)

    def _execute(self, job: Job) -> None:
        from kontur.sync import run_sync

        started = self._clock()
        self.progress = SyncProgress(
            state="running", trigger=job.trigger, started_at=started, message="Запуск…"
        )
        try:
            if job.trigger == "manual":
                self._refuse_full_on_kafka_fed_cache()
            seen: dict[str, EntityProgress] = {}
            result = run_sync(
                self.cache,
                self.settings,
                mode=job.mode,
                entities=job.entities,
                progress=lambda p: self._report(job, p, seen, started),
                trigger=job.trigger,
            )
            ok, error = result.ok, result.error
            summary = f"готово: {result.received:,} записей за {result.seconds:.1f} с".replace(",", " ")
            full = set(result.modes.values()) == {"full"}
        except SyncFailedError as exc:
            ok, error, summary, full = False, str(exc), "", False
        except Exception as exc:  # e.g. the cache file gone: a failed run like any other
            log.exception("sync (%s) raised", job.trigger)
            ok, error, summary, full = False, f"{type(exc).__name__}: {exc}"[:500], "", False
        finally:
            # Even a refused or failed run may change what pages show (its row, the freshness line).
            self._on_change()
        finished = self._clock()
        with self._cond:
            if ok:
                self._failures, self._retry, self._retry_at, self._last_error = 0, None, None, None
                if self.interval > 0:
                    self._next_incremental = finished + self.interval
                if full:
                    self._plan_full(finished, last_full=finished)
            else:
                self._last_error = error or "синхронизация не удалась"
                if job.trigger != "manual":  # a press that fails leaves the schedule as it was
                    self._failures += 1
                    delay = self.backoff.backoff(self._failures, self._rng)
                    self._retry = Job("retry", job.mode, job.entities)
                    self._retry_at = finished + delay
                    log.warning(
                        "sync (%s) failed, retry %d in %.0f s: %s", job.trigger, self._failures, delay, error
                    )
        self.progress = replace(
            self.progress,
            state="done" if ok else "failed",
            message=summary if ok else (error or "синхронизация не удалась"),
            finished_at=finished,
        )

    def _report(self, job: Job, p: EntityProgress, seen: dict[str, EntityProgress], started: float) -> None:
        from kontur.labels import ENTITY

        seen[p.entity] = p
        rows = sum(e.records for e in seen.values())
        self.progress = SyncProgress(
            state="running",
            trigger=job.trigger,
            entity=p.entity,
            entities_done=sum(1 for e in seen.values() if e.done),
            entities_total=len(job.entities),
            rows=rows,
            message=f"{ENTITY.get(p.entity, p.entity)} — {rows:,} записей".replace(",", " "),
            started_at=started,
        )

    # --- facts the plan needs ----------------------------------------------------------------------
    def _kafka_fed(self) -> bool:
        if self.kafka:
            return True
        with self.cache.reader() as cur:
            return bool(kafka_groups(cur))

    def _marked_entities(self) -> tuple[str, ...]:
        states = self.cache.entity_states()
        return tuple(e for e in ENTITIES if e in states and states[e].high_water is not None)

    def _plan_full(self, now: float, *, last_full: float | None = None) -> None:
        every = self.settings.full_sync_every
        if every <= 0:
            self._next_full = None
            return
        if last_full is None:
            stamp = self.cache.last_success(transport="rest", mode="full")
            last_full = stamp.timestamp() if stamp is not None else None
        if last_full is None:
            # No full sync on record: the first fill makes one (an empty cache), or the cache is fed
            # otherwise; reconcile one period from now.
            last_full = now
        self._next_full = next_full_at(last_full, every, self.settings.full_sync_at)

    def _refuse_full_on_kafka_fed_cache(self) -> None:
        """Say at once (not after fetching everything) that a REST sync that would be full is refused
        on a cache the Kafka consumer feeds; the load path refuses it again inside its transaction."""
        from kontur.load import KafkaFedCacheError, refuse_full_if_kafka_fed
        from kontur.sync import resolve_modes

        if "full" not in resolve_modes(self.cache, ENTITIES, None).values():
            return
        with self.cache.reader() as cur:
            try:
                refuse_full_if_kafka_fed(cur)
            except KafkaFedCacheError as exc:
                raise SyncFailedError(f"Синхронизация через REST не запущена: {exc}") from None


def next_full_at(last_full: float, every: float, at: str | None) -> float:
    """When the next full sync is due: `every` seconds after the last one, or with `at` ("HH:MM",
    local time) and a period of a day or more, at the first such time of day from 12 h before then."""
    due = last_full + every
    if not at or every < 86400:
        return due
    hours, minutes = (int(part) for part in at.split(":"))
    earliest = datetime.fromtimestamp(due - _AT_SLACK)  # naive local time
    candidate = earliest.replace(hour=hours, minute=minutes, second=0, microsecond=0)
    if candidate < earliest:
        candidate += timedelta(days=1)
    return candidate.timestamp()
