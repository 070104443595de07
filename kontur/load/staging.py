"""`Staging`: one run's staged changes for any number of entities, applied together by `commit`.

    staging = Staging(cache, run_id)
    staging.add_pages("premises", [(page_bytes, "GET /premises page 1"), ...])   # REST pages
    staging.add_items("leads", [value_bytes, ...], ["brusnika.leads/0@17", ...])  # single items
    counts = staging.commit({"premises": "full", "leads": "incremental"})        # one transaction
    staging.close()

Files (`kontur.load.files`) are parsed and checked into temp tables (`kontur.load.parse`), the bad
records kept aside (`kontur.load.rejects`); `commit` applies every staged entity
(`kontur.load.apply`) and keeps the lead summaries exact (`kontur.load.summaries`) in ONE
transaction — readers never see a half-synced entity, and a failure anywhere leaves every table
exactly as before.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import duckdb

from kontur.cache import Cache, runs

from . import summaries
from .apply import apply_entity, refuse_full_if_kafka_fed
from .files import BatchFiles, Page, SourceSlice, bounds, discard
from .parse import Parser
from .rejects import Rejected
from .types import DEFAULT_MAX_REJECTED_SHARE, EntityCounts, EntityStats, Mode, RejectedShareExceeded

InTransaction = Callable[[duckdb.DuckDBPyConnection, Mapping[str, EntityCounts]], None]


class Staging:
    """One run's staged changes; used by one thread at a time (its cursor owns the temp tables)."""

    def __init__(self, cache: Cache, run_id: int, *, batch_dir: Path | None = None) -> None:
        self.cache = cache
        self.run_id = run_id
        self._cur = cache.cursor()
        self._files = BatchFiles(batch_dir or cache.staging_dir / f"run-{run_id}")
        self._parser = Parser(self._cur, self._files, run_id, cache.cursor)
        self._closed = False

    # --- staging ---------------------------------------------------------------------------------
    def stats(self, entity: str) -> EntityStats:
        return self._parser.state(entity).stats

    def add_pages(self, entity: str, pages: Iterable[tuple[bytes, str]]) -> None:
        """Stage list pages (`{"items": [...], "next_cursor": ...}` bytes, with a source label each)."""
        state = self._parser.state(entity)
        batch = [self._files.write_page(content, source) for content, source in pages]
        state.stats.pages += len(batch)
        try:
            if batch:
                self._parser.load(entity, batch)
        finally:
            for page in batch:
                discard(page.path)

    def write_page(self, content: bytes, source: str) -> Path:
        """Write one page to the batch directory now (so a fetch thread can hand over a path, not
        bytes held in memory). Pass the returned paths to `add_page_files`."""
        return self._files.write_page(content, source).path

    def add_page_files(self, entity: str, pages: Sequence[tuple[Path, str]]) -> None:
        state = self._parser.state(entity)
        state.stats.pages += len(pages)
        try:
            if pages:
                self._parser.load(entity, [Page(path, source) for path, source in pages])
        finally:
            for path, _ in pages:
                discard(path)

    def add_items(self, entity: str, items: Sequence[bytes], sources: Sequence[str]) -> None:
        """Stage single items (each one list item's JSON, e.g. a Kafka message value)."""
        if len(items) != len(sources):
            raise ValueError("items and sources differ in length")
        if not items:
            return
        self._parser.state(entity)
        label = sources[0] if len(sources) == 1 else f"{sources[0]} .. {sources[-1]}"
        page = self._files.write_array(b"[" + b",".join(items) + b"]", label)
        page.item_sources = sources
        page.raw_items = items
        try:
            self._parser.load(entity, [page])
        finally:
            page.path.unlink(missing_ok=True)

    def add_records(self, entity: str, items: Sequence[bytes], sources: Sequence[str]) -> None:
        """Like `add_items`, for items the caller has checked are exactly one JSON object each (e.g.
        Kafka message values): staged one per line, which DuckDB parses several times faster than one
        long list page. Same as `write_records` followed by `add_record_files`."""
        if len(items) != len(sources):
            raise ValueError("items and sources differ in length")
        if items:
            self.add_record_files(entity, self.write_records(items), items, sources)

    def write_records(self, items: Sequence[bytes], *, parts: int = 1) -> list[Path]:
        """Write single JSON objects as NDJSON now (`BatchFiles.write_records`); safe to call from
        another thread (the Kafka fetch thread writes the next batch while this one is applied)."""
        return self._files.write_records(items, parts=parts)

    def add_record_files(
        self, entity: str, paths: Sequence[Path], items: Sequence[bytes], sources: Sequence[str]
    ) -> None:
        """Stage the files of `write_records(items, parts=len(paths))`; `items` and `sources` name each
        line for the per-record fallback and `rejected_records`. The files are removed once staged."""
        if len(items) != len(sources):
            raise ValueError("items and sources differ in length")
        state = self._parser.state(entity)
        pages = []
        for path, (start, stop) in zip(paths, bounds(len(items), len(paths)), strict=True):
            part_sources = SourceSlice(sources, start, stop)
            label = part_sources[0] if stop - start == 1 else f"{part_sources[0]} .. {part_sources[-1]}"
            pages.append(
                Page(path, label, item_sources=part_sources, raw_items=items[start:stop], lines=True)
            )
        state.stats.pages += len(pages)
        try:
            if items:
                self._parser.load(entity, pages)
        finally:
            for path in paths:
                path.unlink(missing_ok=True)

    def reject(self, entity: str, items: Sequence[tuple[str, int | None, str]]) -> None:
        """Keep aside items the transport itself found unusable (e.g. a Kafka message whose value is
        not one JSON object): (source, record id if known, reason). Stored at once, like every
        rejection; they count as received."""
        if items:
            self._parser.state(entity).stats.received += len(items)
            self._parser.store_rejected(entity, [Rejected(s, rid, None, reason) for s, rid, reason in items])

    def rejected_share(self) -> float:
        received = sum(s.stats.received for s in self._parser.entities.values())
        rejected = sum(s.stats.rejected for s in self._parser.entities.values())
        return rejected / received if received else 0.0

    def reset(self) -> None:
        """Empty every staging table and zero the per-entity figures after a `commit`, so one Staging
        serves a whole Kafka session batch after batch (its tables are made once, then truncated:
        creating them costs more than a small batch's data)."""
        for state in self._parser.entities.values():
            self._cur.execute(f"TRUNCATE {state.table}")
            state.stats = EntityStats()

    # --- commit ----------------------------------------------------------------------------------
    def commit(
        self,
        modes: Mapping[str, Mode],
        *,
        max_rejected_share: float = DEFAULT_MAX_REJECTED_SHARE,
        advance_high_water: bool = True,
        finish_run: bool = True,
        in_transaction: InTransaction | None = None,
        maintain_summaries: bool = True,
    ) -> dict[str, EntityCounts]:
        """Apply every entity in `modes` in ONE transaction (`kontur.load.apply` says what full and
        incremental do); with `finish_run`, the run is marked succeeded in that same transaction (so
        its row never disagrees with the tables).

        `in_transaction(cursor, counts)` runs last inside the same transaction (the Kafka consumer
        records its partition offsets there, so they commit together with the data).
        `advance_high_water=False` (the Kafka consumer) records when each entity last changed but
        leaves the REST high-water marks alone.
        `maintain_summaries=False` (the Kafka consumer) leaves the dashboard's lead summaries stale
        but marked so (`summaries.invalidate`, readers fall back to `leads`); the consumer rebuilds
        them once it has caught up (`refresh_summaries`).
        A full load is refused on a cache fed from Kafka (`apply.refuse_full_if_kafka_fed`).
        """
        share = self.rejected_share()
        if share > max_rejected_share:
            received = sum(s.stats.received for s in self._parser.entities.values())
            rejected = sum(s.stats.rejected for s in self._parser.entities.values())
            raise RejectedShareExceeded(
                f"{rejected} of {received} records were malformed ({share:.1%}, over the "
                f"{max_rejected_share:.1%} threshold); nothing was applied, see rejected_records"
            )
        states = {entity: self._parser.state(entity) for entity in modes}  # an entity with no pages
        results: dict[str, EntityCounts] = {}
        with self.cache.transaction(self._cur) as cur:
            if "full" in modes.values():
                refuse_full_if_kafka_fed(cur)
            for entity, mode in modes.items():
                # The dashboard's lead summaries change in this same transaction: old rows are read
                # before the apply, new ones after.
                staged = states[entity].table
                if not maintain_summaries and entity == "leads":
                    summaries.invalidate(cur)
                pending = maintain_summaries and summaries.before_apply(cur, entity, mode, staged)
                cities = summaries.cities_before(cur, entity)  # summaries keyed by a lead's city
                results[entity] = apply_entity(
                    cur, self.run_id, entity, staged, states[entity].stats, mode, move_mark=advance_high_water
                )
                summaries.after_apply(cur, entity, mode, staged, pending)
                summaries.cities_after(cur, cities, maintain=maintain_summaries)
            if finish_run:
                runs.finish_run(cur, self.run_id, list(results.values()))
            if in_transaction is not None:
                in_transaction(cur, results)
        return results

    def refresh_summaries(self) -> bool:
        """Rebuild the lead summaries if a deferring `commit` left them stale; returns whether it did."""
        return summaries.refresh_in_transaction(self.cache)

    def close(self) -> None:
        """Drop staging and batch files. The transaction (if any) is already over."""
        if self._closed:
            return
        self._closed = True
        try:
            for state in self._parser.entities.values():
                self._cur.execute(f"DROP TABLE IF EXISTS {state.table}")
                self._cur.execute(f"DROP TABLE IF EXISTS {state.table}_dedup")
            for name in ("_batch", "_keep", "_win"):
                self._cur.execute(f"DROP TABLE IF EXISTS {name}")
        except duckdb.Error:  # pragma: no cover - connection already closed
            pass
        finally:
            self._cur.close()
            shutil.rmtree(self._files.dir, ignore_errors=True)

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
