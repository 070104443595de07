"""«Наличие» reruns in AppTest on an existing cache: server time and what each rerun sends.

Each step is timed around `AppTest.run()` (the server side only: no browser), and the size of what
the page holds after it is counted: elements, the bytes of their protobufs (what the browser has to
decode and draw), and the Plotly charts and table rows among them. Every filter step picks a value
not picked before, so the cached reads and views miss as after a change in a real session.

    .venv/bin/python bench/availability_reruns.py bench/out/pages-10.duckdb
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

BENCH_READER = {
    "id": 999_999_001,
    "lastName": "Бенчмарков",
    "firstName": "Админ",
    "phone": "+79990000000",
    "email": "bench@kontur.example",
    "status": "active",
    "role": "ADMIN",
}  # fmt: skip -- as bench/pages.py's
TYPES = (["apartment"], ["parking"], ["commercial"], ["storeroom"], ["apartment", "parking"])


def _elements(node: Any) -> list[Any]:
    found = []
    for child in getattr(node, "children", {}).values():
        if getattr(child, "proto", None) is not None and not getattr(child, "children", None):
            found.append(child)
        found += _elements(child)
    return found


def weight(at: Any) -> tuple[int, int, int, int]:
    """(elements, protobuf bytes, plotly charts, table rows) of the page as it stands."""
    elements = _elements(at._tree)
    size = sum(len(e.proto.SerializeToString()) for e in elements)
    rows = sum(len(d.value) for d in at.dataframe)
    return len(elements), size, len(at.get("plotly_chart")), rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cache", type=Path)
    args = parser.parse_args(argv)

    from streamlit.testing.v1 import AppTest

    from kontur.auth.session import ACTOR_STATE_KEY
    from kontur.config import Settings
    from kontur.forms import users
    from kontur.store.db import Store

    with Store.open(Settings(cache_path=args.cache).ops_database_url()) as store:
        users.seed(store, [BENCH_READER])
    os.environ.update(
        BRUSNIKA_API_URL="http://127.0.0.1:9/api/v1",  # never contacted: no sync is started here
        BRUSNIKA_API_TOKEN="bench",
        KONTUR_CACHE_PATH=str(args.cache),
        KONTUR_AUTO_SYNC="0",
        KONTUR_INSECURE_DEV_PICKER="1",
    )
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
    at.session_state[ACTOR_STATE_KEY] = BENCH_READER["id"]
    at.run()
    at.switch_page("pages/availability.py")

    def step(name: str) -> float:
        start = time.perf_counter()
        at.run()
        took = time.perf_counter() - start
        if at.exception:
            raise SystemExit(f"{name}: {at.exception[0].message}")
        n, size, charts, rows = weight(at)
        print(f"  {name:<34} {took:6.2f} s  {n:4d} elements {size / 1e3:8.1f} kB  "
              f"{charts} plotly, {rows:5d} table rows", flush=True)  # fmt: skip
        return took

    step("first render (cold caches)")
    step("rerun, same filters (warm)")
    changes = []
    for value in TYPES:
        at.multiselect(key="av_types").set_value(value)
        changes.append(step(f"filter: types={','.join(value)}"))
    print(f"  median of the filter changes: {statistics.median(changes):.2f} s", flush=True)
    if not at.get("pagination"):  # the page before it was paged and split into views
        return 0
    at.multiselect(key="av_types").set_value([])
    step("filters cleared (cached)")
    pager = at.get("pagination")[0]
    pager.set_value(2)
    step("premises page 2")
    pager = at.get("pagination")[0]
    pager.set_value(pager.proto.num_pages)
    step(f"premises last page ({pager.proto.num_pages})")
    for view in ("map", "distributions"):
        at.button_group(key="av_view").set_value(view)
        step(f"view: {view}")
        at.multiselect(key="av_types").set_value(
            ["commercial", "parking"] if view == "map" else ["storeroom", "parking"]
        )
        step(f"filter on view {view}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
