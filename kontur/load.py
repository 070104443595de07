"""The load path: stage pages of inbound records, check them, and apply them to the cache atomically.

Shared by the REST sync (`kontur.sync`) and the Kafka consumer. Usage:

    staging = Staging(cache, run_id)
    staging.add_pages("premises", [(page_bytes, "GET /premises page 1"), ...])   # REST pages
    staging.add_items("leads", [value_bytes, ...], ["brusnika.leads/0@17", ...])  # single items
    counts = staging.commit({"premises": "full", "leads": "incremental"})        # one transaction
    staging.close()

How a batch is staged: each page's items array (a byte slice of the page, no Python parsing) goes to
a file, DuckDB's `read_json(format='array')` parses a batch of them against the explicit column types
of `kontur.schema` into a small temp table, `kontur.checks` finds rows breaking the contract in SQL in
the same statement, and good pages are appended to the entity's staging temp table. A batch DuckDB
cannot parse, or a page with a bad row, is redone per record with pydantic (`feed_item_adapter`):
good records still load, bad ones go to `rejected_records` with the field errors and their raw JSON.

Staging lives in temp tables of the loader's own connection (spilling to disk past the memory limit),
so a killed process leaves nothing behind in the cache file; the page files are removed on the next
open. `commit` then applies every staged entity in ONE transaction — readers never see a half-synced
entity, and a failure anywhere leaves every table exactly as before.
"""

from __future__ import annotations

import itertools
import logging
import re
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import duckdb
import orjson
import pyarrow as pa
from pydantic import ValidationError

from kontur.cache import Cache
from kontur.checks import entity_checks
from kontur.models import ENTITIES, feed_item_adapter
from kontur.queries import summaries
from kontur.schema import COLUMNS, TABLES

logger = logging.getLogger("kontur.load")

Mode = Literal["full", "incremental"]
# What DuckDB raises for data it cannot parse or cast: those pages fall back to per-record checks.
# Anything else (out of memory, disk full) is not the data's fault and fails the run instead.
_DATA_ERRORS = (duckdb.InvalidInputException, duckdb.ConversionException)
DEFAULT_MAX_REJECTED_SHARE = 0.05


class LoadError(RuntimeError):
    """Staged data cannot be applied (e.g. a page that is not JSON at all)."""


class RejectedShareExceeded(LoadError):
    """Too many records were malformed: the feed looks broken, so nothing is applied."""


@dataclass
class EntityStats:
    """What one entity's staging has seen so far in this run."""

    pages: int = 0
    received: int = 0  # items on the wire (records and tombstones)
    staged: int = 0
    rejected: int = 0
    rejected_high_water: datetime | None = None


@dataclass(frozen=True)
class EntityCounts:
    """What `commit` did to one entity's table."""

    entity: str
    mode: Mode
    pages: int
    received: int
    loaded: int
    deleted: int
    rejected: int
    ignored_older: int
    high_water: datetime | None


@dataclass
class _Page:
    path: Path
    source: str
    # Per-item sources (Kafka topic/partition@offset) when the "page" is a bundle of single items.
    item_sources: Sequence[str] | None = None
    # Per-item raw bytes when built from single items (so a broken item is kept exactly as received).
    raw_items: Sequence[bytes] | None = None
    # One item per line instead of one list page per line (`add_records`).
    lines: bool = False


@dataclass
class _Rejected:
    source: str
    record_id: int | None
    raw: str | None
    reason: str


@dataclass
class _StageState:
    table: str
    stats: EntityStats = field(default_factory=EntityStats)


def _stage_table(entity: str) -> str:
    return "stage_" + TABLES[entity]


# The contract's page: {"items": [...], "next_cursor": "..." | null}. When a page has exactly that
# shape, the items array is a byte slice of it and DuckDB reads it as a JSON array of records — several
# times faster than unnesting a list inside one huge object, and no Python parsing at all.
_ENVELOPE_HEAD = re.compile(rb'\A\s*\{\s*"items"\s*:\s*\[')
_ENVELOPE_TAIL = re.compile(rb'\]\s*(,\s*"next_cursor"\s*:\s*(null|"[^"\\]*")\s*)?\}\s*\Z')
_FORMATS = {False: "array", True: "newline_delimited"}


def items_array(content: bytes) -> bytes | None:
    """The bytes of a page's items array, or None when the page is not exactly the contract's shape."""
    head = _ENVELOPE_HEAD.match(content)
    end = content.rfind(b"]")
    if head is None or end < head.end() - 1 or not _ENVELOPE_TAIL.match(content, end):
        return None
    return content[head.end() - 1 : end + 1]


def _validation_reason(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        # Drop the discriminator tag ("record"/"tombstone") from the location: it is our wrapper.
        loc = ".".join(str(p) for p in item["loc"] if p not in ("record", "tombstone"))
        parts.append(f"{loc or 'item'}: {item['msg']}")
    return "; ".join(parts)


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


class Staging:
    """One run's staged changes for any number of entities, applied together by `commit`."""

    def __init__(self, cache: Cache, run_id: int, *, batch_dir: Path | None = None) -> None:
        self.cache = cache
        self.run_id = run_id
        self._cur = cache.cursor()
        self._dir = batch_dir or cache.staging_dir / f"run-{run_id}"
        self._dir.mkdir(parents=True, exist_ok=True)
        self._seq = itertools.count()
        self._entities: dict[str, _StageState] = {}
        # Raw items of re-serialised (pydantic-checked) pages, so a row the SQL checks still refuse
        # is kept aside exactly as received.
        self._raw_by_path: dict[str, list[tuple[str, Any]]] = {}
        self._closed = False

    # --- public API --------------------------------------------------------------------------------
    def stats(self, entity: str) -> EntityStats:
        return self._state(entity).stats

    def add_pages(self, entity: str, pages: Iterable[tuple[bytes, str]]) -> None:
        """Stage list pages (`{"items": [...], "next_cursor": ...}` bytes, with a source label each)."""
        state = self._state(entity)
        batch = [self._write(content, source) for content, source in pages]
        state.stats.pages += len(batch)
        if batch:
            self._load(entity, batch)
        for page in batch:
            _discard(page.path)

    def add_items(self, entity: str, items: Sequence[bytes], sources: Sequence[str]) -> None:
        """Stage single items (each one list item's JSON, e.g. a Kafka message value)."""
        if len(items) != len(sources):
            raise ValueError("items and sources differ in length")
        if not items:
            return
        self._state(entity)
        label = sources[0] if len(sources) == 1 else f"{sources[0]} .. {sources[-1]}"
        page = self._write_array(b"[" + b",".join(items) + b"]", label)
        page.item_sources = sources
        page.raw_items = items
        self._load(entity, [page])
        page.path.unlink(missing_ok=True)

    def add_records(self, entity: str, items: Sequence[bytes], sources: Sequence[str]) -> None:
        """Like `add_items`, for items the caller has checked are exactly one JSON object each (e.g.
        Kafka message values): staged one per line, which DuckDB parses several times faster than one
        long list page. Same as `write_records` followed by `add_record_files`."""
        if len(items) != len(sources):
            raise ValueError("items and sources differ in length")
        if not items:
            return
        self.add_record_files(entity, self.write_records(items), items, sources)

    def write_records(self, items: Sequence[bytes], *, parts: int = 1) -> list[Path]:
        """Write single JSON objects as NDJSON now, split into `parts` files of consecutive items (DuckDB
        parses one such file on one thread, several in parallel), and return their paths. Safe to call
        from another thread (the Kafka fetch thread writes the next batch while this one is applied), so
        the applying thread spends its time in DuckDB, not joining bytes under the GIL."""
        paths = []
        for start, stop in _bounds(len(items), parts):
            path = self._dir / f"{next(self._seq)}.json"
            chunk = items[start:stop]
            # A raw newline cannot sit inside a JSON string, so newlines are whitespace: one item per
            # line. Items rarely hold one, so look at the joined bytes first (two C scans, no copy per item).
            content = b"\n".join(chunk)
            if content.count(b"\n") != len(chunk) - 1 or b"\r" in content:
                content = b"\n".join(v.replace(b"\n", b" ").replace(b"\r", b" ") for v in chunk)
            with path.open("wb") as file:  # two writes: `content + b"\n"` would copy it all once more
                file.write(content)
                file.write(b"\n")
            paths.append(path)
        return paths

    def add_record_files(
        self, entity: str, paths: Sequence[Path], items: Sequence[bytes], sources: Sequence[str]
    ) -> None:
        """Stage the files of `write_records(items, parts=len(paths))`; `items` and `sources` name each
        line for the per-record fallback and `rejected_records`. The files are removed once staged."""
        if len(items) != len(sources):
            raise ValueError("items and sources differ in length")
        state = self._state(entity)
        pages = []
        for path, (start, stop) in zip(paths, _bounds(len(items), len(paths)), strict=True):
            part_sources = _Slice(sources, start, stop)
            label = part_sources[0] if stop - start == 1 else f"{part_sources[0]} .. {part_sources[-1]}"
            part = items[start:stop]
            pages.append(_Page(path, label, item_sources=part_sources, raw_items=part, lines=True))
        state.stats.pages += len(pages)
        try:
            if items:
                self._load(entity, pages)
        finally:
            for path in paths:
                path.unlink(missing_ok=True)

    def reset(self) -> None:
        """Empty every staging table and zero the per-entity figures after a `commit`, so one Staging
        serves a whole Kafka session batch after batch (its tables are made once, then truncated:
        creating them costs more than a small batch's data)."""
        for state in self._entities.values():
            self._cur.execute(f"TRUNCATE {state.table}")
            state.stats = EntityStats()

    def reject(self, entity: str, items: Sequence[tuple[str, int | None, str]]) -> None:
        """Keep aside items the transport itself found unusable (e.g. a Kafka message whose value is
        not one JSON object): (source, record id if known, reason). Stored at once, like every
        rejection; they count as received."""
        if not items:
            return
        self._state(entity).stats.received += len(items)
        self._store_rejected(entity, [_Rejected(source, rid, None, reason) for source, rid, reason in items])

    def write_page(self, content: bytes, source: str) -> Path:
        """Write one page to the batch directory now (so a fetch thread can hand over a path, not
        bytes held in memory). Pass the returned paths to `add_page_files`."""
        return self._write(content, source).path

    def add_page_files(self, entity: str, pages: Sequence[tuple[Path, str]]) -> None:
        state = self._state(entity)
        state.stats.pages += len(pages)
        if pages:
            self._load(entity, [_Page(path, source) for path, source in pages])
            # Done with them: a scale-10 sync must not keep gigabytes of pages on disk.
            for path, _ in pages:
                _discard(path)

    def rejected_share(self) -> float:
        received = sum(s.stats.received for s in self._entities.values())
        rejected = sum(s.stats.rejected for s in self._entities.values())
        return rejected / received if received else 0.0

    def commit(
        self,
        modes: Mapping[str, Mode],
        *,
        max_rejected_share: float = DEFAULT_MAX_REJECTED_SHARE,
        advance_state: bool = True,
        advance_high_water: bool = True,
        finish_run: bool = True,
        in_transaction: Callable[[duckdb.DuckDBPyConnection, Mapping[str, EntityCounts]], None] | None = None,
        maintain_summaries: bool = True,
    ) -> dict[str, EntityCounts]:
        """Apply every entity in `modes` in ONE transaction; with `finish_run`, the run is marked
        succeeded in that same transaction (so its row never disagrees with the tables).

        full: the entity's table becomes exactly the staged snapshot (rows of records rejected in this
        run are kept as they were, so a malformed record never deletes its last good version).
        incremental: staged records replace rows whose `updated_at` is not newer, tombstones delete
        rows not newer than themselves, older arrivals are ignored.
        `in_transaction(cursor, counts)` runs last inside the same transaction (the Kafka consumer
        records its partition offsets there, so they commit together with the data).
        `advance_high_water=False` (the Kafka consumer) records when each entity last changed but
        leaves its high-water mark alone: that mark is where a REST incremental sync resumes, and
        "the newest updated_at a stream batch held" is no promise that everything older is here
        (other partitions may lag behind).
        `maintain_summaries=False` (the Kafka consumer) leaves the dashboard's lead summaries stale
        but marked so (`summaries.invalidate`, readers fall back to `leads`); the consumer rebuilds
        them once it has caught up (`refresh_summaries`).

        A full load is refused on a cache fed from Kafka (`kafka_offsets` has rows): the snapshot
        would replace records the stream already delivered in newer versions, and delete those it
        delivered after the snapshot was read, and the stream would not send them again.
        """
        share = self.rejected_share()
        if share > max_rejected_share:
            received = sum(s.stats.received for s in self._entities.values())
            rejected = sum(s.stats.rejected for s in self._entities.values())
            raise RejectedShareExceeded(
                f"{rejected} of {received} records were malformed ({share:.1%}, over the "
                f"{max_rejected_share:.1%} threshold); nothing was applied, see rejected_records"
            )
        for entity in modes:
            self._state(entity)  # an entity with no pages still gets its (empty) staging table
        cur = self._cur
        results: dict[str, EntityCounts] = {}
        with self.cache.write_lock:
            cur.execute("BEGIN TRANSACTION")
            try:
                if "full" in modes.values():
                    refuse_full_if_kafka_fed(cur)
                for entity, mode in modes.items():
                    # The dashboard's lead summaries change in this same transaction (see
                    # kontur.queries.summaries): old rows are read before the apply, new ones after.
                    staged = self._entities[entity].table
                    if not maintain_summaries and entity == "leads":
                        summaries.invalidate(cur)
                    pending = maintain_summaries and summaries.before_apply(cur, entity, mode, staged)
                    results[entity] = self._apply(
                        entity, mode, advance_state=advance_state, advance_high_water=advance_high_water
                    )
                    summaries.after_apply(cur, entity, mode, staged, pending)
                if finish_run:
                    self._record_run(results)
                if in_transaction is not None:
                    in_transaction(cur, results)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        return results

    def refresh_summaries(self) -> bool:
        """Rebuild the lead summaries if a deferring `commit` left them stale (`refresh_summaries`);
        returns whether it rebuilt."""
        return refresh_summaries(self.cache)

    def close(self) -> None:
        """Drop staging and batch files. The transaction (if any) is already over."""
        if self._closed:
            return
        self._closed = True
        try:
            for state in self._entities.values():
                self._cur.execute(f"DROP TABLE IF EXISTS {state.table}")
                self._cur.execute(f"DROP TABLE IF EXISTS {state.table}_dedup")
            for name in ("_batch", "_keep", "_win"):
                self._cur.execute(f"DROP TABLE IF EXISTS {name}")
        except duckdb.Error:  # pragma: no cover - connection already closed
            pass
        finally:
            self._cur.close()
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- staging ---------------------------------------------------------------------------------
    def _state(self, entity: str) -> _StageState:
        state = self._entities.get(entity)
        if state is None:
            if entity not in ENTITIES:
                raise ValueError(f"unknown entity {entity!r}")
            state = self._entities[entity] = _StageState(table=_stage_table(entity))
            cols = ", ".join(f'"{name}" {sql_type}' for name, sql_type in COLUMNS[entity])
            self._cur.execute(f"CREATE OR REPLACE TEMP TABLE {state.table} ({cols}, deleted BOOLEAN)")
        return state

    def _write(self, content: bytes, source: str) -> _Page:
        """Write one list page for DuckDB: its items array (a byte slice when the page has the
        contract's shape, else re-serialised by orjson), plus the page as received for the fallback."""
        items = items_array(content)
        if items is None:
            try:
                document = orjson.loads(content)
                listed = document.get("items") if isinstance(document, dict) else None
            except orjson.JSONDecodeError:
                listed = None
            if not isinstance(listed, list):
                raise LoadError(f"{source}: not a list page (no items array)")
            items = orjson.dumps(listed)
        page = self._write_array(items, source)
        page.path.with_suffix(".page").write_bytes(content)
        return page

    def _write_array(self, items: bytes, source: str) -> _Page:
        path = self._dir / f"{next(self._seq)}.json"
        path.write_bytes(items)
        return _Page(path, source)

    def _read_batch(self, entity: str, pages: Sequence[_Page]) -> None:
        """Parse pages into the temp table `_batch` (item columns, filename, `_reason`: NULL for a good
        row) or raise a DuckDB error. The checks run once, in the same statement."""
        checks = entity_checks(entity)
        columns = ", ".join(f"'{name}': '{sql_type}'" for name, sql_type in checks.wire_types)
        self._cur.execute(
            f"CREATE OR REPLACE TEMP TABLE _batch AS SELECT *, {checks.reason_sql} AS _reason FROM "  # noqa: S608
            f"read_json(?, format = '{_FORMATS[pages[0].lines]}', "
            f"columns = {{{columns}, 'deleted': 'BOOLEAN', '_pos': 'BIGINT'}}, filename = true)",
            [*checks.params, [str(p.path) for p in pages]],
        )

    def _load(self, entity: str, pages: Sequence[_Page], *, trusted: bool = False) -> None:
        state = self._entities[entity]
        checks = entity_checks(entity)
        if all(p.lines and p.raw_items is not None for p in pages) and not state.stats.staged:
            self._load_lines(entity, pages)
            return
        try:
            self._read_batch(entity, pages)
        except _DATA_ERRORS as exc:
            if len(pages) > 1:
                for page in pages:  # find the page DuckDB cannot read; the others load normally
                    self._load(entity, [page], trusted=trusted)
                return
            if trusted:
                # pydantic accepted these records but DuckDB cannot store one: try them one by one.
                self._load_one_by_one(entity, pages[0], str(exc))
                return
            self._fallback(entity, pages[0])
            return
        cur = self._cur
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

    def _load_lines(self, entity: str, pages: Sequence[_Page]) -> None:
        """NDJSON pages into an empty staging table in ONE statement: parse, check and cast, keep the
        good rows. Most batches are clean, so this skips the separate parse table, the look for bad
        rows and the copy into staging; when fewer rows arrive than the pages have lines (a row broke
        a rule), they are taken out again and each page is redone on the general path."""
        state = self._entities[entity]
        checks = entity_checks(entity)
        columns = ", ".join(f"'{name}': '{sql_type}'" for name, sql_type in checks.wire_types)
        expected = sum(len(p.raw_items or ()) for p in pages)
        try:
            # The filter runs before the casts, so a bad row never reaches (and fails) a cast.
            row = self._cur.execute(
                f"INSERT INTO {state.table} SELECT {checks.casts}, coalesce(deleted, false) FROM "  # noqa: S608
                f"read_json(?, format = 'newline_delimited', columns = {{{columns}, 'deleted': 'BOOLEAN'}}) "
                f"WHERE {checks.reason_sql} IS NULL",
                [[str(p.path) for p in pages], *checks.params],
            ).fetchone()
            inserted = int(row[0]) if row else 0
        except _DATA_ERRORS:
            inserted = -1  # DuckDB cannot read one of them: nothing was inserted
        if inserted == expected:
            state.stats.staged += inserted
            state.stats.received += inserted
            return
        if inserted > 0:
            self._cur.execute(f"TRUNCATE {state.table}")
        if len(pages) == 1:
            self._fallback(entity, pages[0])
            return
        for page in pages:  # the general path finds the page with the bad row; the others load
            self._load(entity, [page])

    def _fallback(self, entity: str, page: _Page) -> None:
        """Validate one page record by record with pydantic; stage the good, keep the bad aside."""
        state = self._entities[entity]
        raw_items = page.raw_items
        if raw_items is not None:
            items: list[Any] = []
            for raw in raw_items:
                try:
                    items.append(orjson.loads(raw))
                except orjson.JSONDecodeError:
                    items.append(_Unparsable(raw))
        else:
            original = page.path.with_suffix(".page")
            try:
                if original.exists():
                    items = orjson.loads(original.read_bytes())["items"]
                else:
                    items = orjson.loads(page.path.read_bytes())
                if not isinstance(items, list):
                    raise TypeError("items is not a list")
            except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
                raise LoadError(f"{page.source}: not a list page ({exc})") from None
        adapter = feed_item_adapter(entity)
        good: list[dict[str, Any]] = []
        good_raw: list[tuple[str, Any]] = []
        rejected: list[_Rejected] = []
        for index, item in enumerate(items):
            source = page.item_sources[index] if page.item_sources else f"{page.source} item {index}"
            if isinstance(item, _Unparsable):
                rejected.append(_Rejected(source, None, None, f"not JSON: {item.raw[:200]!r}"))
                continue
            try:
                model = adapter.validate_python(item)
            except ValidationError as exc:
                rejected.append(self._rejection(state, source, item, _validation_reason(exc)))
                continue
            record = model.to_wire()
            record["_pos"] = len(good)
            good.append(record)
            good_raw.append((source, item))
        state.stats.received += len(items)
        self._store_rejected(entity, rejected)
        if good:
            clean = self._write_array(orjson.dumps(good), page.source)
            clean.item_sources = [source for source, _ in good_raw]
            self._raw_by_path[str(clean.path)] = good_raw
            self._load(entity, [clean], trusted=True)
            self._raw_by_path.pop(str(clean.path), None)
            _discard(clean.path)

    def _reject_checked(self, entity: str, page: _Page, bad: list[tuple[Any, ...]]) -> None:
        """Rows pydantic accepted but the SQL checks refuse (the two disagree): reject with the SQL
        reason; the caller's INSERT skips them."""
        state = self._entities[entity]
        raw = self._raw_by_path.get(str(page.path), [])
        rejected = []
        for _filename, pos, reason in bad:
            source, item = raw[pos] if pos is not None and pos < len(raw) else (page.source, None)
            rejected.append(self._rejection(state, source, item, reason))
        self._store_rejected(entity, rejected)

    def _load_one_by_one(self, entity: str, page: _Page, error: str) -> None:
        raw = self._raw_by_path.get(str(page.path), [])
        records = orjson.loads(page.path.read_bytes())
        state = self._entities[entity]
        for pos, record in enumerate(records):
            single = self._write_array(orjson.dumps([record | {"_pos": 0}]), page.source)
            self._raw_by_path[str(single.path)] = [raw[pos]] if pos < len(raw) else []
            try:
                self._read_batch(entity, [single])
            except _DATA_ERRORS as exc:
                source, item = raw[pos] if pos < len(raw) else (page.source, record)
                self._store_rejected(entity, [self._rejection(state, source, item, f"cannot store: {exc}")])
                continue
            self._load(entity, [single], trusted=True)
            self._raw_by_path.pop(str(single.path), None)
            _discard(single.path)
        logger.info("%s: page %s loaded record by record after: %s", entity, page.source, error)

    def _rejection(self, state: _StageState, source: str, item: Any, reason: str) -> _Rejected:
        record_id = item.get("id") if isinstance(item, dict) else None
        if isinstance(item, dict):
            stamp = _timestamp(item.get("updated_at"))
            hw = state.stats.rejected_high_water
            if stamp is not None and (hw is None or stamp > hw):
                state.stats.rejected_high_water = stamp
        return _Rejected(
            source=source,
            record_id=record_id if isinstance(record_id, int) and not isinstance(record_id, bool) else None,
            raw=orjson.dumps(item).decode() if item is not None else None,
            reason=reason,
        )

    def _store_rejected(self, entity: str, rejected: Sequence[_Rejected]) -> None:
        """Kept at once (auto-committed), so a run that then fails still shows what was wrong."""
        if not rejected:
            return
        self._entities[entity].stats.rejected += len(rejected)
        table = pa.table(
            {
                "run_id": pa.array([self.run_id] * len(rejected), pa.int64()),
                "entity": pa.array([entity] * len(rejected), pa.string()),
                "source": pa.array([r.source for r in rejected], pa.string()),
                "record_id": pa.array([r.record_id for r in rejected], pa.int64()),
                "raw": pa.array([r.raw for r in rejected], pa.string()),
                "reason": pa.array([r.reason for r in rejected], pa.string()),
            }
        )
        cur = self.cache.cursor()
        try:
            cur.register("_rejected_batch", table)
            cur.execute(
                "INSERT INTO rejected_records (run_id, entity, source, record_id, raw, reason) "
                "SELECT run_id, entity, source, record_id, raw, reason FROM _rejected_batch"
            )
        finally:
            cur.close()

    # --- commit ----------------------------------------------------------------------------------
    def _apply(
        self, entity: str, mode: Mode, *, advance_state: bool, advance_high_water: bool
    ) -> EntityCounts:
        state = self._entities[entity]
        cur = self._cur
        table = TABLES[entity]
        stage = state.table
        cols = ", ".join(f'"{name}"' for name, _ in COLUMNS[entity])
        s_cols = ", ".join(f's."{name}"' for name, _ in COLUMNS[entity])

        def scalar(sql: str, params: Sequence[Any] = ()) -> Any:
            row = cur.execute(sql, list(params)).fetchone()
            return row[0] if row else None

        # Latest version per id wins (a record changed mid-crawl can appear twice). Deduplicate only
        # when needed: on millions of rows the window costs more than the check. One scan for the
        # three figures (each statement costs milliseconds, which add up over many small batches).
        staged_row = cur.execute(
            f"SELECT count(*), count(DISTINCT id), max(updated_at) FROM {stage}"  # noqa: S608
        ).fetchone()
        assert staged_row is not None
        staged, distinct, high_water = int(staged_row[0]), int(staged_row[1]), staged_row[2]
        if distinct < staged:
            cur.execute(
                f"CREATE OR REPLACE TEMP TABLE {stage}_dedup AS SELECT * FROM {stage} "  # noqa: S608
                "QUALIFY row_number() OVER (PARTITION BY id ORDER BY updated_at DESC, deleted DESC) = 1"
            )
            source = f"{stage}_dedup"
        else:
            source = stage
        if state.stats.rejected_high_water is not None and (
            high_water is None or state.stats.rejected_high_water > high_water
        ):
            high_water = state.stats.rejected_high_water

        if mode == "full":
            # Keep the current row of a record rejected in this run: it is still in the snapshot,
            # only this version of it was malformed.
            cur.execute(
                "CREATE OR REPLACE TEMP TABLE _keep AS SELECT DISTINCT record_id AS id "  # noqa: S608
                "FROM rejected_records WHERE run_id = ? AND entity = ? AND record_id IS NOT NULL "
                f"AND record_id NOT IN (SELECT id FROM {source} WHERE NOT deleted)",
                [self.run_id, entity],
            )
            existing = int(scalar(f"SELECT count(*) FROM {table}"))  # noqa: S608
            deleted = 0
            if existing:
                deleted = int(
                    scalar(
                        f"SELECT count(*) FROM {table} t WHERE NOT EXISTS "  # noqa: S608
                        f"(SELECT 1 FROM {source} s WHERE s.id = t.id AND NOT s.deleted) "
                        "AND t.id NOT IN (SELECT id FROM _keep)"
                    )
                )
                cur.execute(f"DELETE FROM {table} WHERE id NOT IN (SELECT id FROM _keep)")  # noqa: S608
            loaded = int(
                scalar(
                    f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {source} WHERE NOT deleted"  # noqa: S608
                )
            )
            ignored = 0
        elif staged == 0:
            loaded = deleted = ignored = 0
        elif not int(scalar(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1)")):  # noqa: S608
            # Nothing held yet (a new cache reading the topics from the start): every record is new,
            # so append without joining; tombstones of records never held change nothing.
            loaded = int(
                scalar(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {source} WHERE NOT deleted")  # noqa: S608
            )
            deleted = ignored = 0
        elif not int(scalar(f"SELECT count(*) FROM {source} s SEMI JOIN {table} t ON t.id = s.id")):  # noqa: S608
            # No incoming id is held yet (the common case while a new cache catches up on the topics):
            # a semi-join's count says so without building the merge table; append as is.
            loaded = int(
                scalar(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {source} WHERE NOT deleted")  # noqa: S608
            )
            deleted = ignored = 0
        else:
            # Rows where the incoming version is not older than what we hold (or is new to us).
            cur.execute(
                f"CREATE OR REPLACE TEMP TABLE _win AS SELECT s.*, t.id IS NOT NULL AS existed "  # noqa: S608
                f"FROM {source} s LEFT JOIN (SELECT id, updated_at FROM {table}) t ON t.id = s.id "
                "WHERE t.id IS NULL OR s.updated_at >= t.updated_at"
            )
            win_row = cur.execute(
                "SELECT count(*), count(*) FILTER (WHERE existed), "
                "count(*) FILTER (WHERE existed AND deleted) FROM _win"
            ).fetchone()
            assert win_row is not None
            won, replaced, deleted = int(win_row[0]), int(win_row[1]), int(win_row[2])
            if replaced:
                # Only when some incoming record is already held: the DELETE scans the whole table,
                # which a batch of records all new to us (the common case while catching up) skips.
                cur.execute(f"DELETE FROM {table} WHERE id IN (SELECT id FROM _win WHERE existed)")  # noqa: S608
            loaded = int(
                scalar(f"INSERT INTO {table} ({cols}) SELECT {s_cols} FROM _win s WHERE NOT s.deleted")  # noqa: S608
            )
            ignored = distinct - won

        if advance_state and not advance_high_water and staged:
            cur.execute(
                "INSERT INTO sync_state (entity, high_water, last_run_id, last_success_at) "
                "VALUES (?, NULL, ?, current_timestamp) ON CONFLICT (entity) DO UPDATE SET "
                "last_run_id = excluded.last_run_id, last_success_at = excluded.last_success_at",
                [entity, self.run_id],
            )
        elif advance_state and high_water is not None:
            cur.execute(
                "INSERT INTO sync_state (entity, high_water, last_run_id, last_success_at) "
                "VALUES (?, ?, ?, current_timestamp) ON CONFLICT (entity) DO UPDATE SET "
                "high_water = CASE WHEN ? = 'full' THEN excluded.high_water "
                "ELSE greatest(sync_state.high_water, excluded.high_water) END, "
                "last_run_id = excluded.last_run_id, last_success_at = excluded.last_success_at",
                [entity, high_water, self.run_id, mode],
            )
        return EntityCounts(
            entity=entity,
            mode=mode,
            pages=state.stats.pages,
            received=state.stats.received,
            loaded=loaded,
            deleted=deleted,
            rejected=state.stats.rejected,
            ignored_older=ignored,
            high_water=high_water,
        )

    def _record_run(self, results: Mapping[str, EntityCounts]) -> None:
        cur = self._cur
        for counts in results.values():
            cur.execute(
                "INSERT INTO sync_run_entities (run_id, entity, mode, pages, received, loaded, deleted, "
                "rejected, high_water) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    self.run_id,
                    counts.entity,
                    counts.mode,
                    counts.pages,
                    counts.received,
                    counts.loaded,
                    counts.deleted,
                    counts.rejected,
                    counts.high_water,
                ],
            )
        modes = {c.mode for c in results.values()}
        cur.execute(
            "UPDATE sync_runs SET status = 'succeeded', finished_at = current_timestamp, "
            "mode = ?, loaded = ?, deleted = ?, rejected = ?, error = NULL WHERE id = ?",
            [
                modes.pop() if len(modes) == 1 else "mixed",
                sum(c.loaded for c in results.values()),
                sum(c.deleted for c in results.values()),
                sum(c.rejected for c in results.values()),
                self.run_id,
            ],
        )


def refresh_summaries(cache: Cache) -> bool:
    """Rebuild the lead summaries in their own transaction (on a cursor of their own, so any thread
    may call this) if a deferring `Staging.commit` left them stale; returns whether it rebuilt."""
    cur = cache.cursor()
    try:
        with cache.write_lock:
            cur.execute("BEGIN TRANSACTION")
            try:
                rebuilt = summaries.refresh(cur)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
    finally:
        cur.close()
    return rebuilt


class KafkaFedCacheError(LoadError):
    """A full REST load was asked of a cache that the Kafka consumer feeds."""


def kafka_groups(cur: duckdb.DuckDBPyConnection) -> list[str]:
    """Consumer groups that have fed this cache from Kafka (none: the cache is REST-only)."""
    rows = cur.execute("SELECT DISTINCT group_id FROM kafka_offsets ORDER BY 1").fetchall()
    return [row[0] for row in rows]


def refuse_full_if_kafka_fed(cur: duckdb.DuckDBPyConnection) -> None:
    groups = kafka_groups(cur)
    if groups:
        raise KafkaFedCacheError(
            f"this cache is fed from Kafka (consumer group {', '.join(groups)}): a full REST sync would "
            "put back older versions of records the stream already updated and delete records it "
            "delivered after the snapshot was read. Only incremental REST syncs may run on it (after a "
            "REST full sync made before consuming); for a fresh snapshot use a new cache file."
        )


def _bounds(count: int, parts: int) -> list[tuple[int, int]]:
    """[start, stop) of `parts` consecutive slices of `count` items, as even as can be. Slicing again
    into as many parts as this returned gives the same slices (so a reader recomputes them)."""
    size = -(-count // max(parts, 1)) if count else 0
    return [(start, min(start + size, count)) for start in range(0, count, size)] if size else [(0, 0)]


class _Slice(Sequence[str]):
    """A window on a sequence of sources, without building them (a Kafka batch's sources are made
    only for the records the load path rejects)."""

    def __init__(self, sources: Sequence[str], start: int, stop: int) -> None:
        self._sources, self._start, self._stop = sources, start, stop

    def __len__(self) -> int:
        return self._stop - self._start

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._sources[self._start + index]


@dataclass(frozen=True)
class _Unparsable:
    raw: bytes


def _discard(path: Path) -> None:
    """Remove a batch file and the page it was cut from (a scale-10 sync must not keep gigabytes)."""
    path.unlink(missing_ok=True)
    path.with_suffix(".page").unlink(missing_ok=True)
