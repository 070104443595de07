"""The «Сделки» page's DuckDB queries, one by one, for every filter combination the page produces.

Each (case, query) is run once on a fresh read-only connection (the cold run: DuckDB's buffers empty,
the OS page cache not) and then `--runs` times on that connection (median: the warm figure a page sees
after a sync bumped the data version and emptied `st.cache_data`). Anchors in the same run:
`SELECT count(*) FROM leads` (free: the floor of any query), and one scan of `leads.agent_id` (what
any read of `leads` filtered by agent or agency must at least pay).

The cache is a copy of `--db` in `--work` (default /tmp/leadsq-bench): the users directory mirror is
filled with a name per agent/manager when empty (the live dashboard has ~31,500 names there, which
the people lists and the leaderboard join), and the lead summaries are rebuilt when they are not of
this code's version (what the load path does at the next sync).

    .venv/bin/python bench/leads_queries.py --db /tmp/leadsq/scale10.duckdb
    .venv/bin/python bench/leads_queries.py --db ... --only agent,agency --query stale_leads
    .venv/bin/python bench/leads_queries.py --json after-1.json      # one round, kept
    .venv/bin/python bench/leads_queries.py --compare before-1.json,before-2.json after-1.json,after-2.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from kontur.auth.scopes import ReadScope  # noqa: E402
from kontur.cache.ddl import DIRECTORY_MIRROR  # noqa: E402
from kontur.load import summaries as upkeep  # noqa: E402
from kontur.queries import LeadFilters, leads, summaries  # noqa: E402
from kontur.queries.funnel import won  # noqa: E402

EVERYONE = ReadScope.everyone()


@dataclass(frozen=True)
class Case:
    name: str
    scope: ReadScope
    filters: LeadFilters

    @property
    def base(self) -> LeadFilters:
        """What the page passes to the people pickers: the sidebar's city/project only."""
        return LeadFilters(city_id=self.filters.city_id, project_id=self.filters.project_id)


Query = Callable[[duckdb.DuckDBPyConnection, Case], Any]

# The page's reads, in the order the page makes them (pages/leads.py).
QUERIES: dict[str, Query] = {
    "start_bounds": lambda con, c: leads.start_bounds(con, c.scope),
    "people_agents": lambda con, c: leads.people_options(con, c.scope, "agent_id", c.base, "", ()),
    "people_managers": lambda con, c: leads.people_options(con, c.scope, "manager_id", c.base, "", ()),
    "funnel": lambda con, c: leads.funnel(con, c.scope, c.filters),
    "won": lambda con, c: won(con, c.scope, c.filters),
    "weekly_starts": lambda con, c: leads.weekly_starts(con, c.scope, c.filters),
    "stale_summary": lambda con, c: leads.stale_summary(con, c.scope, c.filters),
    "stale_leads": lambda con, c: leads.stale_leads(con, c.scope, c.filters),
    "leaderboard": lambda con, c: leads.leaderboard(con, c.scope, c.filters),
}
# Not on every run of the page, but on a search in a picker.
EXTRA: dict[str, Query] = {
    "people_search": lambda con, c: leads.people_options(con, c.scope, "agent_id", c.base, "ов", ()),
}


def prepare(src: Path, work: Path) -> Path:
    """A writable copy of `src` with names in the directory mirror and summaries of this version."""
    work.mkdir(parents=True, exist_ok=True)
    dst = work / "leads-bench.duckdb"
    if not dst.exists() or dst.stat().st_mtime < src.stat().st_mtime:
        print(f"copying {src} -> {dst}", flush=True)
        shutil.copyfile(src, dst)
        wal = src.with_name(src.name + ".wal")
        if wal.exists():
            shutil.copyfile(wal, dst.with_name(dst.name + ".wal"))
    con = duckdb.connect(str(dst))
    try:
        if not con.execute(f"SELECT count(*) FROM {DIRECTORY_MIRROR}").fetchone()[0]:  # noqa: S608
            # One synthetic name per person, as the live mirror has (the people lists search them).
            con.execute(
                f"""
                INSERT INTO {DIRECTORY_MIRROR} (id, last_name, first_name, role, status, agency_id)
                SELECT id, 'Фамилия' || id, 'Имя', role, 'active', NULL FROM (
                    SELECT DISTINCT agent_id AS id, 'AGENT' AS role FROM leads WHERE agent_id IS NOT NULL
                    UNION
                    SELECT DISTINCT manager_id, 'MANAGER' FROM leads WHERE manager_id IS NOT NULL
                )
                """  # noqa: S608 -- own constant
            )
        if not summaries.usable(con):
            print("rebuilding the lead summaries (another version in the file)…", flush=True)
            t0 = time.perf_counter()
            con.execute("BEGIN TRANSACTION")
            upkeep.rebuild(con)
            con.execute("COMMIT")
            print(f"  rebuilt in {time.perf_counter() - t0:.1f} s", flush=True)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return dst


def cases(con: duckdb.DuckDBPyConnection) -> list[Case]:
    """The page's filter combinations, on the busiest city, project and agent of the cache."""
    city = con.execute(
        "SELECT pr.city_id FROM leads l JOIN projects pr ON pr.id = l.project_id "
        "GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1"
    ).fetchone()[0]
    project = con.execute(
        "SELECT l.project_id FROM leads l JOIN projects pr ON pr.id = l.project_id WHERE pr.city_id = ? "
        "GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1",
        [city],
    ).fetchone()[0]
    agent = con.execute(
        "SELECT agent_id FROM leads WHERE agent_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
    ).fetchone()[0]
    last = con.execute("SELECT max(start_date) FROM leads").fetchone()[0]
    # An agency: at scale 10 the sandbox has 2,500 agencies of ~12 agents drawn at random.
    agency = frozenset(
        int(a)
        for (a,) in con.execute(
            "SELECT DISTINCT agent_id FROM leads WHERE agent_id % 2500 = 7 ORDER BY 1 LIMIT 12"
        ).fetchall()
    )
    return [
        Case("none", EVERYONE, LeadFilters()),
        Case("city", EVERYONE, LeadFilters(city_id=city)),
        Case("city+project", EVERYONE, LeadFilters(city_id=city, project_id=project)),
        Case("agent", EVERYONE, LeadFilters(agent_ids=(int(agent),))),
        Case("state", EVERYONE, LeadFilters(states=("Активные",))),
        Case("period", EVERYONE, LeadFilters(start_from=last - timedelta(days=90), start_to=last)),
        Case("city+state", EVERYONE, LeadFilters(city_id=city, states=("Активные",))),
        Case("agency", ReadScope(agency), LeadFilters()),
        Case("agency+city", ReadScope(agency), LeadFilters(city_id=city)),
    ]


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def measure(path: Path, case: Case, fn: Query, runs: int) -> tuple[float, float]:
    """(cold ms on a fresh connection, median warm ms of `runs`)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        cold = timed(lambda: fn(con, case))
        warm = [timed(lambda: fn(con, case)) for _ in range(runs)]
    finally:
        con.close()
    return cold, statistics.median(warm)


def anchors(path: Path, agent: int, runs: int) -> dict[str, tuple[float, float]]:
    sqls = {
        "count(*) leads": ("SELECT count(*) FROM leads", []),
        "scan agent_id": ("SELECT count(*) FROM leads WHERE agent_id = ?", [agent]),
    }
    out = {}
    for name, (sql, params) in sqls.items():
        con = duckdb.connect(str(path), read_only=True)
        try:
            cold = timed(lambda c=con, s=sql, p=params: c.execute(s, p).fetchall())
            warm = [timed(lambda c=con, s=sql, p=params: c.execute(s, p).fetchall()) for _ in range(runs)]
        finally:
            con.close()
        out[name] = (cold, statistics.median(warm))
    return out


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


Results = dict[str, dict[str, tuple[float, float]]]  # query -> case -> (cold ms, warm ms)


def tables(results: Results, runs: int) -> str:
    """The warm and the cold table, with the page's total per case (its every-run queries)."""
    names = list(next(iter(results.values())))
    out = []
    for title, k in (
        (f"warm: median of {runs} runs, ms", 1),
        ("cold: the first run on a fresh connection, ms", 0),
    ):
        rows = [["query", *names]]
        rows += [[q, *[f"{by_case[c][k]:.1f}" for c in names]] for q, by_case in results.items()]
        total = [sum(results[q][c][k] for q in results if q in QUERIES) for c in names]
        rows.append(["page total", *[f"{t:.1f}" for t in total]])
        out.append(f"{title}\n{table(rows)}")
    return "\n\n".join(out)


def compare(before: list[Path], after: list[Path]) -> str:
    """Before -> after per cell, each side the median over its rounds (JSON files of `--json`)."""

    def merged(files: list[Path]) -> Results:
        rounds = [json.loads(f.read_text()) for f in files]
        return {
            q: {c: tuple(statistics.median(r[q][c][k] for r in rounds) for k in (0, 1)) for c in by_case}
            for q, by_case in rounds[0].items()
        }  # type: ignore[misc]

    old, new = merged(before), merged(after)
    names = list(next(iter(new.values())))
    out = []
    for title, k in (("warm ms, before -> after", 1), ("cold ms, before -> after", 0)):
        rows = [["query", *names]]
        rows += [[q, *[f"{old[q][c][k]:.0f} -> {new[q][c][k]:.0f}" for c in names]] for q in new if q in old]
        tot = [
            (sum(old[q][c][k] for q in QUERIES if q in old), sum(new[q][c][k] for q in QUERIES if q in new))
            for c in names
        ]
        rows.append(["page total", *[f"{a:.0f} -> {b:.0f}" for a, b in tot]])
        out.append(f"{title} (median of {len(before)} and {len(after)} rounds)\n{table(rows)}")
    return "\n\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, default=Path("/tmp/leadsq/scale10.duckdb"))
    ap.add_argument("--work", type=Path, default=Path("/tmp/leadsq-bench"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", default="", help="comma-separated case names")
    ap.add_argument("--query", default="", help="comma-separated query names")
    ap.add_argument("--extra", action="store_true", help="also the picker's search")
    ap.add_argument("--json", type=Path, help="also write the figures here (for --compare)")
    ap.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"), help="comma-separated JSON files")
    args = ap.parse_args(argv)
    if args.compare:
        before, after = ([Path(p) for p in side.split(",")] for side in args.compare)
        print(compare(before, after))
        return 0

    path = prepare(args.db, args.work)
    con = duckdb.connect(str(path), read_only=True)
    try:
        all_cases = cases(con)
        n_leads = con.execute("SELECT count(*) FROM leads").fetchone()[0]
        agent = all_cases[3].filters.agent_ids[0]
        assert summaries.usable(con), "the bench copy's summaries must be usable"
    finally:
        con.close()
    chosen = [c for c in all_cases if not args.only or c.name in args.only.split(",")]
    queries = {**QUERIES, **(EXTRA if args.extra else {})}
    if args.query:
        queries = {k: v for k, v in queries.items() if k in args.query.split(",")}

    print(f"{n_leads:,} leads; load {os.getloadavg()[0]:.2f}; duckdb {duckdb.__version__}; runs {args.runs}")
    for name, (cold, warm) in anchors(path, agent, args.runs).items():
        print(f"anchor {name}: cold {cold:.1f} ms, warm {warm:.1f} ms")
    results: Results = {}
    for qname, fn in queries.items():
        results[qname] = {case.name: measure(path, case, fn, args.runs) for case in chosen}
        print(f"  {qname}: " + " ".join(f"{w:.1f}" for _, w in results[qname].values()), flush=True)
    print("\n" + tables(results, args.runs))
    print(f"\nload after: {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
