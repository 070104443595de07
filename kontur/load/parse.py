"""Parsing staged files into an entity's staging table: DuckDB `read_json` with the explicit column
types of `kontur.schema` and the row checks of `kontur.checks` in the same statement; a batch DuckDB
cannot parse, or a page with a bad row, redone per record with pydantic (`kontur.load.rejects`).

Staging tables are temp tables of the Parser's own cursor (spilling to disk past the memory limit),
so a killed process leaves nothing behind in the cache file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import orjson

from kontur.checks import entity_checks
from kontur.models import ENTITIES
from kontur.schema import COLUMNS, TABLES

from . import rejects
from .files import FORMATS, BatchFiles, Page, discard, read_page_items, read_raw_items
from .rejects import Rejected
from .types import EntityStats

logger = logging.getLogger("kontur.load")

# What DuckDB raises for data it cannot parse or cast: those pages fall back to per-record checks.
# Anything else (out of memory, disk full) is not the data's fault and fails the run instead.
DATA_ERRORS = (duckdb.InvalidInputException, duckdb.ConversionException)


@dataclass
class StageState:
    table: str
    stats: EntityStats = field(default_factory=EntityStats)


def stage_table(entity: str) -> str:
    return "stage_" + TABLES[entity]


class Parser:
    """Stages one run's items, entity by entity, on its own cursor (used by one thread at a time)."""

    def __init__(
        self,
        cur: duckdb.DuckDBPyConnection,
        files: BatchFiles,
        run_id: int,
        new_cursor: Callable[[], duckdb.DuckDBPyConnection],
    ) -> None:
        self.cur = cur
        self.files = files
        self.run_id = run_id
        # Rejects are stored at once (auto-committed) on a cursor of their own, apart from the
        # staging cursor and its temp tables.
        self._new_cursor = new_cursor
        self.entities: dict[str, StageState] = {}
        # Raw items of re-serialised (pydantic-checked) pages, so a row the SQL checks still refuse
        # is kept aside exactly as received.
        self._raw_by_path: dict[str, list[tuple[str, Any]]] = {}

    def state(self, entity: str) -> StageState:
        state = self.entities.get(entity)
        if state is None:
            if entity not in ENTITIES:
                raise ValueError(f"unknown entity {entity!r}")
            state = self.entities[entity] = StageState(table=stage_table(entity))
            cols = ", ".join(f'"{name}" {sql_type}' for name, sql_type in COLUMNS[entity])
            self.cur.execute(f"CREATE OR REPLACE TEMP TABLE {state.table} ({cols}, deleted BOOLEAN)")
        return state

    def store_rejected(self, entity: str, rejected: Sequence[Rejected]) -> None:
        if rejected:
            self.entities[entity].stats.rejected += len(rejected)
            with self._new_cursor() as cur:
                rejects.store(cur, self.run_id, entity, rejected)

    # --- the fast path ---------------------------------------------------------------------------
    def _read_batch(self, entity: str, pages: Sequence[Page]) -> None:
        """Parse pages into the temp table `_batch` (item columns, filename, `_reason`: NULL for a good
        row) or raise a DuckDB error. The checks run once, in the same statement."""
        checks = entity_checks(entity)
        columns = ", ".join(f"'{name}': '{sql_type}'" for name, sql_type in checks.wire_types)
        self.cur.execute(
            f"CREATE OR REPLACE TEMP TABLE _batch AS SELECT *, {checks.reason_sql} AS _reason FROM "  # noqa: S608
            f"read_json(?, format = '{FORMATS[pages[0].lines]}', "
            f"columns = {{{columns}, 'deleted': 'BOOLEAN', '_pos': 'BIGINT'}}, filename = true)",
            [*checks.params, [str(p.path) for p in pages]],
        )

    def load(self, entity: str, pages: Sequence[Page], *, trusted: bool = False) -> None:
        state = self.entities[entity]
        checks = entity_checks(entity)
        if all(p.lines and p.raw_items is not None for p in pages) and not state.stats.staged:
            self._load_lines(entity, pages)
            return
        try:
            self._read_batch(entity, pages)
        except DATA_ERRORS as exc:
            if len(pages) > 1:
                for page in pages:  # find the page DuckDB cannot read; the others load normally
                    self.load(entity, [page], trusted=trusted)
                return
            if trusted:
                # pydantic accepted these records but DuckDB cannot store one: try them one by one.
                self._load_one_by_one(entity, pages[0], str(exc))
                return
            self._fallback(entity, pages[0])
            return
        cur = self.cur
        bad = cur.execute("SELECT filename, _pos, _reason FROM _batch WHERE _reason IS NOT NULL").fetchall()
        bad_files = sorted({row[0] for row in bad}) if bad and not trusted else []
        if bad and trusted:
            self._reject_checked(entity, pages[0], bad)
        # Good pages go in now; a page with any bad row is redone record by record below.
        inserted_row = cur.execute(
            f"INSERT INTO {state.table} SELECT {checks.casts}, coalesce(deleted, false) FROM _batch "  # noqa: S608
            "WHERE _reason IS NULL AND NOT list_contains(?::VARCHAR[], filename)",
            [bad_files],
        ).fetchone()
        inserted = int(inserted_row[0]) if inserted_row else 0
        state.stats.staged += inserted
        if not trusted:
            state.stats.received += inserted
        by_path = {str(p.path): p for p in pages}
        for name in bad_files:
            self._fallback(entity, by_path[name])

    def _load_lines(self, entity: str, pages: Sequence[Page]) -> None:
        """NDJSON pages into an empty staging table in ONE statement: parse, check and cast, keep the
        good rows. Most batches are clean, so this skips the separate parse table, the look for bad
        rows and the copy into staging; when fewer rows arrive than the pages have lines (a row broke
        a rule), they are taken out again and each page is redone on the general path."""
        state = self.entities[entity]
        checks = entity_checks(entity)
        columns = ", ".join(f"'{name}': '{sql_type}'" for name, sql_type in checks.wire_types)
        expected = sum(len(p.raw_items or ()) for p in pages)
        try:
            # The filter runs before the casts, so a bad row never reaches (and fails) a cast.
            row = self.cur.execute(
                f"INSERT INTO {state.table} SELECT {checks.casts}, coalesce(deleted, false) FROM "  # noqa: S608
                f"read_json(?, format = 'newline_delimited', columns = {{{columns}, 'deleted': 'BOOLEAN'}}) "
                f"WHERE {checks.reason_sql} IS NULL",
                [[str(p.path) for p in pages], *checks.params],
            ).fetchone()
            inserted = int(row[0]) if row else 0
        except DATA_ERRORS:
            inserted = -1  # DuckDB cannot read one of them: nothing was inserted
        if inserted == expected:
            state.stats.staged += inserted
            state.stats.received += inserted
            return
        if inserted > 0:
            self.cur.execute(f"TRUNCATE {state.table}")
        if len(pages) == 1:
            self._fallback(entity, pages[0])
            return
        for page in pages:  # the general path finds the page with the bad row; the others load
            self.load(entity, [page])

    # --- record by record ------------------------------------------------------------------------
    def _fallback(self, entity: str, page: Page) -> None:
        """Validate one page record by record with pydantic; stage the good, keep the bad aside."""
        state = self.entities[entity]
        items = read_raw_items(page.raw_items) if page.raw_items is not None else read_page_items(page)
        sources = page.item_sources or [f"{page.source} item {index}" for index in range(len(items))]
        checked = rejects.validate(entity, items, sources, state.stats)
        state.stats.received += len(items)
        self.store_rejected(entity, checked.rejected)
        if checked.good:
            clean = self.files.write_array(orjson.dumps(checked.good), page.source)
            clean.item_sources = [source for source, _ in checked.good_raw]
            self._raw_by_path[str(clean.path)] = checked.good_raw
            self.load(entity, [clean], trusted=True)
            self._raw_by_path.pop(str(clean.path), None)
            discard(clean.path)

    def _reject_checked(self, entity: str, page: Page, bad: list[tuple[Any, ...]]) -> None:
        """Rows pydantic accepted but the SQL checks refuse (the two disagree): reject with the SQL
        reason; the caller's INSERT skips them."""
        stats = self.entities[entity].stats
        raw = self._raw_by_path.get(str(page.path), [])
        rejected = []
        for _filename, pos, reason in bad:
            source, item = raw[pos] if pos is not None and pos < len(raw) else (page.source, None)
            rejected.append(rejects.rejection(stats, source, item, reason))
        self.store_rejected(entity, rejected)

    def _load_one_by_one(self, entity: str, page: Page, error: str) -> None:
        raw = self._raw_by_path.get(str(page.path), [])
        records = orjson.loads(page.path.read_bytes())
        stats = self.entities[entity].stats
        for pos, record in enumerate(records):
            single = self.files.write_array(orjson.dumps([record | {"_pos": 0}]), page.source)
            self._raw_by_path[str(single.path)] = [raw[pos]] if pos < len(raw) else []
            try:
                self._read_batch(entity, [single])
            except DATA_ERRORS as exc:
                source, item = raw[pos] if pos < len(raw) else (page.source, record)
                self.store_rejected(entity, [rejects.rejection(stats, source, item, f"cannot store: {exc}")])
                continue
            self.load(entity, [single], trusted=True)
            self._raw_by_path.pop(str(single.path), None)
            discard(single.path)
        logger.info("%s: page %s loaded record by record after: %s", entity, page.source, error)
