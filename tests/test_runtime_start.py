"""What a dashboard runtime does to a cache it opens: lead summaries another version left (or a
stopped consumer marked stale) are rebuilt at start, so the deals page reads them from the first run."""

from __future__ import annotations

from pathlib import Path

from kontur.cache import Cache
from kontur.config import Settings
from kontur.load import summaries
from kontur.queries import summaries as summary_reads
from kontur.runtime import start_runtime
from kontur.sandbox.server import RunningSandbox
from kontur.sync import run_sync


def test_stale_lead_summaries_are_rebuilt_when_the_runtime_starts(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    settings = Settings(
        api_url=sandbox.api_url, api_token=sandbox.token, cache_path=tmp_path / "k.duckdb", auto_sync=False
    )
    with Cache(settings.cache_path) as cache:
        assert run_sync(cache, settings).ok
        with cache.transaction() as cur:
            expected = cur.execute("SELECT * FROM lead_stage_summary ORDER BY ALL").fetchall()
            summaries.invalidate(cur)  # as a deferring Kafka batch leaves them
        with cache.reader() as cur:
            assert not summary_reads.usable(cur)
    runtime = start_runtime(settings)
    try:
        with runtime.cursor() as cur:
            assert summary_reads.usable(cur)
            assert cur.execute("SELECT * FROM lead_stage_summary ORDER BY ALL").fetchall() == expected
    finally:
        runtime.close()
