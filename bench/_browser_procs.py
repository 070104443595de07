"""Processes of bench/browser.py: the filled cache, the Streamlit servers, and what they cost.

Streamlit is started as the tests start it (tests/e2e/conftest.py): headless, 127.0.0.1, a free
port, no file watcher, its own process group, ready when `/_stcore/health` answers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from kontur.processes import free_port, stop_process_group

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
OUT = BENCH / "out"
SEED = 7
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def fill(sandbox: object, path: Path) -> tuple[int, float]:
    """Full REST sync of the sandbox into `path`, then the users directory (the booking form needs
    someone to act as; with a configured API nobody seeds it, as in tests/e2e/test_forms_booking.py)."""
    from kontur.cache import Cache
    from kontur.config import Settings
    from kontur.forms import users
    from kontur.store.db import Store
    from kontur.sync import run_sync

    settings = Settings(api_url=sandbox.api_url, api_token=sandbox.token, cache_path=path)  # type: ignore[attr-defined]
    settings.ops_path.unlink(missing_ok=True)
    with Cache(path) as cache:
        result = run_sync(cache, settings)
        if not result.ok:
            raise SystemExit(f"sync failed: {result.error}")
    # The directory lives in the operational store the app opens beside the cache.
    with Store.open(settings.ops_database_url()) as store, sandbox.admin() as admin:  # type: ignore[attr-defined]
        users.seed(store, admin.users())
    return result.received, result.seconds


def ops_file(cache: Path) -> Path:
    """The operational store (SQLite) an app on the cache `cache` opens when no database URL is set."""
    from kontur.config import Settings

    return Settings(cache_path=cache).ops_path


def prepare_cache(sandbox: object, scale: float, reuse: bool) -> tuple[Path, str]:
    """The filled cache `bench/out/browser-<scale>.duckdb` (kept for `--reuse`) and a working copy of
    it for this run (syncs and drift write to the copy, so a reused cache stays as synced)."""
    OUT.mkdir(parents=True, exist_ok=True)
    kept = OUT / f"browser-{scale:g}.duckdb"
    note = OUT / f"browser-{scale:g}.json"
    if reuse and kept.exists() and note.exists():
        info = json.loads(note.read_text())
        if info.get("day") != time.strftime("%Y-%m-%d"):
            # The sandbox generates its world relative to today: the first sync fetches what moved.
            print(f"note: the reused cache was filled on {info.get('day')}", flush=True)
        fill_note = f"reused cache ({info['records']:,} records synced on {info['day']})"
    else:
        kept.unlink(missing_ok=True)
        print(f"filling the cache at scale {scale:g} with the real sync…", flush=True)
        records, seconds = fill(sandbox, kept)
        note.write_text(
            json.dumps({"records": records, "seconds": seconds, "day": time.strftime("%Y-%m-%d")})
        )
        fill_note = f"{records:,} records synced in {seconds:.0f} s"
    work = OUT / f"browser-{scale:g}.run.duckdb"
    for stale in (work, work.with_name(work.name + ".wal")):
        stale.unlink(missing_ok=True)
    ops_file(work).unlink(missing_ok=True)
    shutil.copyfile(kept, work)
    if ops_file(kept).exists():  # the directory beside the kept cache (an older cache still holds its own)
        shutil.copyfile(ops_file(kept), ops_file(work))
    return work, fill_note


def floor_cache(source: Path) -> Path:
    """A cache with only the scope tables of `source`, for the framework-floor app (it must not hold
    the dashboard's file: DuckDB allows one read-write process per file)."""
    from kontur.cache import Cache

    path = source.with_name(source.stem + ".floor.duckdb")
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    with Cache(path) as cache:
        cur = cache.cursor()
        cur.execute("ATTACH ? AS src (READ_ONLY)", [str(source)])
        for table in ("cities", "projects", "buildings"):  # constants: the sidebar's tables
            cur.execute(f"INSERT INTO {table} SELECT * FROM src.{table}")  # noqa: S608
        cur.execute("DETACH src")
        cur.close()
    return path


@dataclass
class App:
    proc: subprocess.Popen
    url: str
    log: Path

    def stop(self) -> None:
        stop_process_group(self.proc)


def start_streamlit(
    script: str,
    env: dict[str, str],
    log: Path,
    *,
    trace: Path | None = None,
    extra: list[str] | None = None,
    timeout: float = 300,
) -> App:
    """`streamlit run script` (through the tracing launcher when `trace` is given)."""
    port = free_port()
    args = [
        "run",
        script,
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        *(extra or []),
    ]
    if trace is not None:
        trace.unlink(missing_ok=True)
        command = [sys.executable, str(BENCH / "_browser_launch.py"), str(trace), *args]
    else:
        command = [sys.executable, "-m", "streamlit", *args]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            cwd=REPO,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"streamlit exited with {proc.returncode}; see {log}")
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                return App(proc, url, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop_process_group(proc)
    raise SystemExit(f"streamlit did not become healthy in {timeout:.0f} s; see {log}")


# --- what a process tree costs, from /proc -------------------------------------------------------


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _cpu_rss(pids: list[int]) -> tuple[float, int]:
    """(CPU seconds used so far, resident bytes now) summed over `pids`."""
    cpu, rss = 0.0, 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / CLK_TCK
            rss += int(fields[21]) * PAGE_SIZE
        except (OSError, IndexError, ValueError):
            continue
    return cpu, rss


def _sched(pids: list[int]) -> tuple[float, float]:
    """(seconds on a CPU, seconds runnable but waiting for one) summed over every thread of `pids`,
    from /proc/PID/task/TID/schedstat: on a shared machine the wait says how much of a figure is
    the machine's queue rather than the program."""
    on_cpu = waiting = 0
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat", "rb") as f:
                    run_ns, wait_ns, _ = f.read().split()
            except (OSError, ValueError):
                continue
            on_cpu += int(run_ns)
            waiting += int(wait_ns)
    return on_cpu / 1e9, waiting / 1e9


def peak_rss_hwm(pid: int) -> int | None:
    """The kernel's own peak resident size of one process (VmHWM), in bytes."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


@dataclass
class Sampler:
    """Samples the CPU and RSS of process trees every `interval` seconds in a thread."""

    roots: dict[str, int]
    interval: float = 0.5
    samples: dict[str, list[tuple[float, float, int]]] = field(default_factory=dict)  # (t, cores, rss)
    queue: dict[str, list[float]] = field(default_factory=dict)  # [s on a CPU, s waiting for one]
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Sampler:
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        last = {name: (time.monotonic(), _cpu_rss(_tree(pid))[0]) for name, pid in self.roots.items()}
        sched = {name: _sched(_tree(pid)) for name, pid in self.roots.items()}
        while not self._stop.wait(self.interval):
            for name, pid in self.roots.items():
                now = time.monotonic()
                tree = _tree(pid)
                cpu, rss = _cpu_rss(tree)
                t0, cpu0 = last[name]
                last[name] = (now, cpu)
                self.samples.setdefault(name, []).append((now, max(0.0, cpu - cpu0) / (now - t0), rss))
                on_cpu, waiting = _sched(tree)
                before = sched[name]
                sched[name] = (on_cpu, waiting)
                total = self.queue.setdefault(name, [0.0, 0.0])
                total[0] += max(0.0, on_cpu - before[0])
                total[1] += max(0.0, waiting - before[1])

    def stop(self) -> dict[str, dict[str, float]]:
        """Per tree: mean and peak CPU (cores) and peak RSS (MB) over the samples."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        out = {}
        for name, rows in self.samples.items():
            if rows:
                cores = [c for _, c, _ in rows]
                on_cpu, waiting = self.queue.get(name, [0.0, 0.0])
                out[name] = {
                    "cpu_mean": sum(cores) / len(cores),
                    "cpu_peak": max(cores),
                    "rss_peak_mb": max(r for *_, r in rows) / 2**20,
                    "cpu_s": on_cpu,
                    "queue_s": waiting,
                }
        return out


def browser_root(exclude: Any) -> int:
    """The Playwright driver this process started (Chromium runs under it)."""
    return next(p for p in _children(os.getpid()) if p not in set(exclude) and b"playwright" in _cmdline(p))


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(b")", 1)[1].split()[1]) == pid:
                out.append(int(entry))
    return out


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
