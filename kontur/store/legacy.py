"""Moving Kontur's own records out of a DuckDB cache file of today's layout into the store, once.

Until this round the users directory, the audit (`actions`) and the agencies, clients, bookings and
visits made through Kontur lived in the cache file (`kontur.cache.LOCAL_TABLES`, the `actions` table
of `_BOOKKEEPING_DDL`, `actions.actor_id` from cache migration 2). `move_from_cache` copies them:

- nothing lost: every source row is either copied, found already in the store (same id; for audit
  rows, the same content and occurrence), or kept aside in `cache_move_rejects` with the reason (a row
  that breaks the wire model, or an older duplicate of an id the cache holds twice);
- idempotent: a second run copies nothing twice (inserts are `ON CONFLICT DO NOTHING` on the id, or on
  `actions.legacy_key`), and never overwrites what the store has since changed;
- all or nothing: one store transaction; a failure leaves the store as it was.

Who recorded a booking, visit, client or agency is taken from the audit (the actor of the first
successful create action naming that id), and `on_behalf_of` of an audit row from its request's
`agent_id` (the contract's agent acted for). Bookings moved are entered in the quota ledger as counted
already: the cache's directory decremented the agent's limit when they were made.

The DuckDB file is opened read-only; nothing here writes to it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import re
import socket
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import sqlalchemy as sa
from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Connection

from kontur.models import Agency, Booking, Client, User, Visit

from . import schema
from ._records import chunks, model_values, wire_columns
from .audit import scrub
from .clients import fullname_key
from .db import Store, insert, utcnow
from .users import WIRE_COLUMNS as USER_COLUMNS
from .users import email_key

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

MOVED_BY = "moved from the DuckDB cache"
# Cache table -> (wire model, store table, the audit action that creates such a record).
RECORDS: dict[str, tuple[type[BaseModel], sa.Table, str]] = {
    "agencies": (Agency, schema.agencies, "create_agency"),
    "clients": (Client, schema.clients, "create_client"),
    "bookings": (Booking, schema.bookings, "create_booking"),
    "visits": (Visit, schema.visits, "create_visit"),
}
SOURCE_TABLES = ("users", *RECORDS, "actions")
_ACTOR_ID = re.compile(r"\(#(\d+)\)$")
_ACTION_CONTENT = ("at", "actor", "action", "request", "outcome", "brusnika_id", "error")


@dataclass
class TableMove:
    read: int = 0  # rows in the cache table
    copied: int = 0  # new to the store
    present: int = 0  # the store had them already (an earlier move, or written since)
    rejected: int = 0  # kept aside in cache_move_rejects, with the reason


@dataclass
class MoveReport:
    source: str
    tables: dict[str, TableMove] = field(default_factory=dict)

    @property
    def copied(self) -> int:
        return sum(t.copied for t in self.tables.values())

    @property
    def read(self) -> int:
        return sum(t.read for t in self.tables.values())


def source_name(path: str | os.PathLike[str]) -> str:
    """How a cache file is named in `cache_moves`: host and absolute path (replicas have one each)."""
    return f"{socket.gethostname()}:{Path(path).resolve()}"


@contextlib.contextmanager
def _duck(source: str | os.PathLike[str] | duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    if isinstance(source, duckdb.DuckDBPyConnection):
        # The process already holds the file (DuckDB refuses a second, read-only open of it here).
        cur = source.cursor()
        try:
            yield cur
        finally:
            cur.close()
        return
    con = duckdb.connect(str(source), read_only=True)
    try:
        yield con
    finally:
        con.close()


def _rows(duck: duckdb.DuckDBPyConnection, table: str) -> list[dict[str, Any]] | None:
    """Every row of a cache table as dicts; None when the file has no such table."""
    if not _has_table(duck, table):
        return None
    rel = duck.execute(f"SELECT * FROM {table}")  # noqa: S608 - table name from SOURCE_TABLES
    names = [d[0] for d in rel.description]
    return [dict(zip(names, row, strict=True)) for row in rel.fetchall()]


def _count(duck: duckdb.DuckDBPyConnection, table: str) -> int:
    if not _has_table(duck, table):
        return 0
    found = duck.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - from SOURCE_TABLES
    return int(found[0]) if found else 0


def _has_table(duck: duckdb.DuckDBPyConnection, table: str) -> bool:
    present = duck.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND table_schema = 'main'",
        [table],
    ).fetchone()
    return bool(present and present[0])


def read_cache(source: str | os.PathLike[str] | duckdb.DuckDBPyConnection) -> dict[str, list[dict[str, Any]]]:
    """The local tables of a cache file (missing tables are empty)."""
    with _duck(source) as duck:
        return {table: _rows(duck, table) or [] for table in SOURCE_TABLES}


def _json_ready(row: Mapping[str, Any]) -> Any:
    return json.loads(json.dumps(dict(row), default=str, ensure_ascii=False))


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _aware(value: Any, fallback: dt.datetime) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        return fallback
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _actor_id(row: Mapping[str, Any]) -> int | None:
    """`actions.actor_id`, or for rows from before cache migration 2 the id at the end of `actor`."""
    if row.get("actor_id") is not None:
        return int(row["actor_id"])
    found = _ACTOR_ID.search(row["actor"]) if isinstance(row.get("actor"), str) else None
    return int(found.group(1)) if found else None


class _Move:
    """One move, inside one store transaction."""

    def __init__(self, tx: Connection, source: str, at: dt.datetime) -> None:
        self.tx, self.source, self.at = tx, source, at
        self.report = MoveReport(source)

    def reject(self, table: str, row: Mapping[str, Any], reason: str) -> None:
        raw = _json_ready(row)
        self.tx.execute(
            insert(self.tx, schema.cache_move_rejects)
            .values(
                at=self.at,
                source=self.source,
                source_table=table,
                row_key=_digest(raw),
                raw=raw,
                reason=reason,
            )
            .on_conflict_do_nothing(index_elements=["source_table", "row_key"])
        )
        self.report.tables[table].rejected += 1

    def latest_by_id(self, table: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One row per id (the newest `recorded_at`); older duplicates and id-less rows go aside."""
        latest: dict[int, dict[str, Any]] = {}
        ordered = sorted(
            rows, key=lambda r: _aware(r.get("recorded_at"), dt.datetime.min.replace(tzinfo=dt.UTC))
        )
        for row in ordered:
            if not isinstance(row.get("id"), int):
                self.reject(table, row, "no id")
                continue
            if row["id"] in latest:
                self.reject(
                    table, latest[row["id"]], f"an older copy of id {row['id']}: the newer one was moved"
                )
            latest[row["id"]] = row
        return [latest[i] for i in sorted(latest)]

    def valid(self, table: str, model: type[M], rows: list[dict[str, Any]]) -> list[tuple[M, dict[str, Any]]]:
        good: list[tuple[M, dict[str, Any]]] = []
        for row in self.latest_by_id(table, rows):
            try:
                good.append((model.model_validate(row), row))
            except ValidationError as exc:
                problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                self.reject(table, row, f"not a valid {model.__name__}: {problems}")
        return good

    def insert_new(self, table: sa.Table, rows: list[dict[str, Any]], key: str = "id") -> int:
        stmt = insert(self.tx, table).on_conflict_do_nothing(index_elements=[key]).returning(table.c[key])
        return sum(len(self.tx.execute(stmt, list(part)).all()) for part in chunks(rows))

    def users(self, rows: list[dict[str, Any]]) -> None:
        values = []
        for user, row in self.valid("users", User, rows):
            when = _aware(row.get("recorded_at"), self.at)
            values.append(
                {
                    **model_values(user, USER_COLUMNS),
                    "email_key": email_key(user.email),
                    "created_at": when,
                    "updated_at": when,
                    "updated_by": MOVED_BY,
                }
            )
        self.count("users", values, self.insert_new(schema.users, values))

    def records(
        self, table: str, rows: list[dict[str, Any]], creators: Mapping[tuple[str, int], int]
    ) -> None:
        model, target, action = RECORDS[table]
        columns = wire_columns(target, ("fullname_key",))
        values = []
        for record, row in self.valid(table, model, rows):
            when = _aware(row.get("recorded_at"), self.at)
            value = {
                **model_values(record, columns),
                "recorded_at": when,
                "updated_at": when,
                "recorded_by": creators.get((action, int(row["id"]))),
            }
            if isinstance(record, Client):
                value["fullname_key"] = fullname_key(record.fullname)
            values.append(value)
        self.count(table, values, self.insert_new(target, values))
        if table == "bookings" and values:
            ledger = [
                {
                    "booking_id": v["id"],
                    "agent_id": v["agent_id"],
                    "at": v["recorded_at"],
                    "remaining_after": None,
                }
                for v in values
            ]
            self.insert_new(schema.booking_quota, ledger, key="booking_id")

    def actions(self, rows: list[dict[str, Any]]) -> None:
        seen: Counter[str] = Counter()
        values = []
        for row in sorted(rows, key=lambda r: (r.get("id") is None, r.get("id") or 0)):
            request = row.get("request")
            if isinstance(request, str):
                with contextlib.suppress(ValueError):
                    request = json.loads(request)
            # The identity of a row: what today's code writes, not `id` (a per-file sequence) nor
            # `actor_id` (derived, and absent before cache migration 2).
            digest = _digest({k: v for k, v in _json_ready(row).items() if k in _ACTION_CONTENT})
            seen[digest] += 1  # identical rows stay distinct: content hash + occurrence
            agent = request.get("agent_id") if isinstance(request, dict) else None
            key = request.get("idempotency_key") if isinstance(request, dict) else None
            values.append(
                {
                    "at": _aware(row.get("at"), self.at),
                    "actor_id": _actor_id(row),
                    "actor": row.get("actor"),
                    "on_behalf_of": agent if isinstance(agent, int) else None,
                    "action": row.get("action") or "unknown",
                    "request": scrub(request),
                    "outcome": row.get("outcome") or "unknown",
                    "brusnika_id": row.get("brusnika_id"),
                    "message": row.get("error"),
                    "idempotency_key": key if isinstance(key, str) and len(key) <= 64 else None,
                    "legacy_key": f"duckdb:{digest}:{seen[digest]}",
                }
            )
        self.count("actions", values, self.insert_new(schema.actions, values, key="legacy_key"))

    def count(self, table: str, values: list[dict[str, Any]], copied: int) -> None:
        self.report.tables[table].copied += copied
        self.report.tables[table].present += len(values) - copied


def _creators(actions: list[dict[str, Any]]) -> dict[tuple[str, int], int]:
    """(create action, Brusnika id) -> the actor of its first successful row."""
    creators: dict[tuple[str, int], int] = {}
    oldest = dt.datetime.min.replace(tzinfo=dt.UTC)
    for row in sorted(actions, key=lambda r: (_aware(r.get("at"), oldest), r.get("id") or 0)):
        actor_id = _actor_id(row)
        if row.get("outcome") == "success" and row.get("brusnika_id") is not None and actor_id is not None:
            creators.setdefault((str(row.get("action")), int(row["brusnika_id"])), int(actor_id))
    return creators


def move_from_cache(
    store: Store,
    source: str | os.PathLike[str] | duckdb.DuckDBPyConnection,
    *,
    name: str | None = None,
    at: dt.datetime | None = None,
) -> MoveReport:
    """Copy the cache's users, audit and local records into `store` (see the module docstring).

    `source` is the cache file's path (opened read-only), or a connection of this process to it.
    `name` identifies the source in `cache_moves` (default: host and absolute path).
    """
    if name is None:
        name = source_name(source) if not isinstance(source, duckdb.DuckDBPyConnection) else "connection"
    data = read_cache(source)
    now = at or utcnow()
    with store.write() as tx:
        move = _Move(tx, name, now)
        for table in SOURCE_TABLES:
            move.report.tables[table] = TableMove(read=len(data[table]))
        move.users(data["users"])
        creators = _creators(data["actions"])
        for table in RECORDS:
            move.records(table, data[table], creators)
        move.actions(data["actions"])
        tx.execute(
            sa.insert(schema.cache_moves).values(
                at=now, source=name, report={t: asdict(m) for t, m in move.report.tables.items()}
            )
        )
    log.info("moved %d of %d cache rows from %s into the store", move.report.copied, move.report.read, name)
    return move.report


def moved_before(store: Store, name: str) -> bool:
    with store.read() as tx:
        return (
            tx.execute(sa.select(sa.literal(1)).where(schema.cache_moves.c.source == name).limit(1)).first()
            is not None
        )


def move_at_start(store: Store, cache_path: str | os.PathLike[str]) -> MoveReport | None:
    """The dashboard's start step: move this cache file's records once, before the runtime opens it.

    Runs when the file exists, holds users, audit or local records, and was never moved into this
    store (by this host and path): so on the first start against an empty store, and on the first start
    of each replica whose own cache holds records made on it. Returns None when there was nothing to
    do. A cache file another process holds is left for the next start (logged), never fatal.
    """
    path = Path(cache_path)
    if not path.exists():
        return None
    name = source_name(path)
    if moved_before(store, name):
        return None
    try:
        with _duck(path) as duck:
            counts = {t: _count(duck, t) for t in SOURCE_TABLES}
    except duckdb.Error as exc:
        log.warning(
            "cache %s not moved into the store now (%s); the next start tries again", path, type(exc).__name__
        )
        return None
    if not any(counts.values()):
        return None
    return move_from_cache(store, path, name=name)
