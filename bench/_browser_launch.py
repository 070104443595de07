"""`streamlit run` with the dashboard's query calls traced, for bench/browser.py.

    python bench/_browser_launch.py TRACE.jsonl run app.py --server.port ...

Wraps the public functions of the page query modules (`kontur.queries.*`, `kontur.forms.lookups`)
before Streamlit starts, then hands over to Streamlit's own command line, so `app.py` stays the main
script (its pages resolve as usual). Every call a script run makes (a cached read's miss, or a
form lookup) appends one JSON line: wall time, function, arguments (repr), milliseconds. Calls nested
in another traced call are not logged twice. Cost: a perf_counter pair and a short write per query.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
MODULES = (
    "kontur.queries.availability",
    "kontur.queries.chessboard",
    "kontur.queries.leads",
    "kontur.queries.scope",
    "kontur.queries.sync_health",
    "kontur.queries.people",
    "kontur.forms.lookups",
    "kontur.kafka.progress",
)


def install(path: Path) -> None:
    out = path.open("a", encoding="utf-8")
    lock = threading.Lock()
    local = threading.local()

    def wrap(fn: Any, name: str) -> Any:
        @functools.wraps(fn)
        def traced(*args: Any, **kwargs: Any) -> Any:
            depth = getattr(local, "depth", 0)
            local.depth = depth + 1
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                ms = (time.perf_counter() - start) * 1000
                local.depth = depth
                if depth == 0 and threading.current_thread().name.startswith("ScriptRunner"):
                    line = {
                        "t": time.time(),
                        "fn": name,
                        "args": repr(args[1:] + tuple(kwargs.items())),
                        "ms": round(ms, 3),
                    }
                    with lock:
                        out.write(json.dumps(line, ensure_ascii=False) + "\n")
                        out.flush()

        return traced

    # Each script run's own time in the server (the script thread, start to end, fragment runs
    # too): beside the probe's «script run(s)», which the browser sees only as its messages arrive.
    from streamlit.runtime.scriptrunner import script_runner

    run_script = script_runner.ScriptRunner._run_script

    def timed_run(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return run_script(self, *args, **kwargs)
        finally:
            line = {"t": time.time(), "run": True, "ms": round((time.perf_counter() - start) * 1000, 3)}
            with lock:
                out.write(json.dumps(line) + "\n")
                out.flush()

    script_runner.ScriptRunner._run_script = timed_run  # type: ignore[method-assign]

    for module_name in MODULES:
        module = importlib.import_module(module_name)
        short = module_name.rsplit(".", 1)[1]
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            params = list(inspect.signature(fn).parameters)
            # only what reads the database: the first parameter is the connection
            if (
                fn.__module__ == module_name
                and not name.startswith("_")
                and params[:1] in (["con"], ["conn"])
            ):
                setattr(module, name, wrap(fn, f"{short}.{name}"))


def main() -> None:
    trace, *streamlit_args = sys.argv[1:]
    sys.path.insert(0, str(REPO))
    install(Path(trace))
    from streamlit.web import cli

    sys.argv = ["streamlit", *streamlit_args]
    cli.main()


if __name__ == "__main__":
    main()
