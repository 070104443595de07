"""Reading the small summary tables over `leads` (kept exact by the load path, `kontur.load.summaries`;
layout in `kontur.cache.ddl`), so the leads page's unfiltered views do not aggregate five million rows
on every read.

Why these and not more: the leads page's default view (all leads, or a city/project) aggregates the
whole table; the summary tables turn those reads into scans of a few thousand rows. Any filter they
cannot answer (agent, manager, start-date range, ...) goes to `leads` itself, where the filter
already narrows the scan. A reader trusts the summaries only while `lead_summary_meta.leads` equals
`count(*) FROM leads` (free in DuckDB) and their layout version matches, so a cache written by
anything else (or left stale by a Kafka catch-up) falls back to the exact raw queries.
"""

from __future__ import annotations

import duckdb

from kontur.cache.ddl import OLDEST_KEPT, OLDEST_SHOWN, SUMMABLE, SUMMARY_META, SUMMARY_VERSION

from ._db import Conn

__all__ = ["OLDEST_KEPT", "OLDEST_SHOWN", "SUMMABLE", "VERSION", "usable"]

VERSION = SUMMARY_VERSION


def usable(con: Conn) -> bool:
    """Whether the summaries exist in this VERSION and describe the `leads` the reader sees. One
    statement (pages call this before every summary read); a cache without the tables answers with
    a catalog error."""
    try:
        row = con.execute(
            f"SELECT (SELECT max(version) FROM {SUMMARY_META}), (SELECT max(leads) FROM {SUMMARY_META}), "  # noqa: S608
            "(SELECT count(*) FROM leads)"
        ).fetchone()
    except duckdb.CatalogException:  # no summaries (an older cache), or no leads table at all
        return False
    except duckdb.BinderException:  # a meta table of an older layout
        return False
    return row is not None and row[0] == VERSION and row[1] is not None and row[1] == row[2]
