"""What the record modules (bookings, visits, clients, agencies) share: a wire model <-> row mapping, a
bulk upsert keyed by Brusnika's id, reads that validate rows back into wire models, and scoped lists.

A row is the wire record (snake_case columns, as the models' field names) plus who recorded it and
when (`recorded_at`, `recorded_by`: kept from the first time) and `updated_at` (the last answer).
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Connection

from .db import insert, utcnow

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

META_COLUMNS = ("recorded_at", "recorded_by", "updated_at")
# Rows per INSERT statement: PostgreSQL takes at most 65,535 parameters per statement.
CHUNK = 1000


@dataclass(frozen=True)
class Stored(Generic[M]):
    """A record as Brusnika answered it, with when and by whom it was recorded here."""

    record: M
    recorded_at: dt.datetime
    recorded_by: int | None
    updated_at: dt.datetime


def wire_columns(table: sa.Table, extra: Sequence[str] = ()) -> tuple[str, ...]:
    """The table's columns that hold wire fields (everything but the bookkeeping ones)."""
    skip = set(META_COLUMNS) | set(extra)
    return tuple(c.name for c in table.columns if c.name not in skip)


def plain(value: Any) -> Any:
    """Enum members as their wire value; everything else as is."""
    return value.value if isinstance(value, enum.Enum) else value


def model_values(model: BaseModel, columns: Iterable[str]) -> dict[str, Any]:
    data = model.model_dump(mode="python", by_alias=False)
    return {column: plain(data.get(column)) for column in columns}


def chunks(rows: Sequence[dict[str, Any]], size: int = CHUNK) -> Iterable[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def dedupe_by_id(models: Iterable[M]) -> list[M]:
    """One model per id (the last one given wins: it is the newer answer), in id order. Sorted so that
    two transactions upserting overlapping batches lock rows in the same order (no deadlock)."""
    latest: dict[int, M] = {}
    for model in models:
        latest[int(model.id)] = model  # type: ignore[attr-defined]
    return [latest[key] for key in sorted(latest)]


def save(
    conn: Connection,
    table: sa.Table,
    models: Iterable[BaseModel],
    *,
    recorded_by: int | None,
    at: dt.datetime | None,
    extra: Callable[[BaseModel], Mapping[str, Any]] | None = None,
    overwrite: bool = True,
) -> list[int]:
    """Upsert `models` by id. `overwrite`: a known id takes the new wire values (`recorded_*` are kept);
    otherwise a known id is left alone. Returns the ids this call inserted (new to the store)."""
    batch = dedupe_by_id(models)
    if not batch:
        return []
    when = at or utcnow()
    extra_names = tuple(extra(batch[0]).keys()) if extra else ()
    columns = wire_columns(table, extra_names)
    rows = []
    for model in batch:
        row = model_values(model, columns)
        if extra:
            row.update(extra(model))
        row.update(recorded_at=when, recorded_by=recorded_by, updated_at=when)
        rows.append(row)
    # New ids come from the INSERT's own RETURNING, not from a look beforehand: exact when another
    # replica inserts the same id at the same moment (its row wins the key, ours is then an update).
    new_ids: set[int] = set()
    base = insert(conn, table)
    add = base.on_conflict_do_nothing(index_elements=["id"]).returning(table.c.id)
    for part in chunks(rows):
        new_ids.update(conn.execute(add, list(part)).scalars())
    if overwrite:
        changing = [*columns[1:], *extra_names, "updated_at"]
        replace = base.on_conflict_do_update(
            index_elements=["id"], set_={name: base.excluded[name] for name in changing}
        )
        for part in chunks([r for r in rows if r["id"] not in new_ids]):
            conn.execute(replace, list(part))
    return [r["id"] for r in rows if r["id"] in new_ids]


def to_stored(model_cls: type[M], row: Mapping[str, Any], columns: Sequence[str]) -> Stored[M] | None:
    """A row back as its wire model; None (logged) when it no longer validates."""
    try:
        record = model_cls.model_validate({name: row[name] for name in columns})
    except ValidationError as exc:
        log.warning(
            "store row %s #%s does not validate (%d errors); left out",
            model_cls.__name__,
            row.get("id"),
            exc.error_count(),
        )
        return None
    return Stored(record, row["recorded_at"], row["recorded_by"], row["updated_at"])


def get(conn: Connection, table: sa.Table, model_cls: type[M], record_id: int) -> Stored[M] | None:
    row = conn.execute(sa.select(table).where(table.c.id == record_id)).mappings().first()
    return None if row is None else to_stored(model_cls, row, wire_columns(table))


def get_many(
    conn: Connection, table: sa.Table, model_cls: type[M], ids: Collection[int]
) -> dict[int, Stored[M]]:
    if not ids:
        return {}
    found: dict[int, Stored[M]] = {}
    columns = wire_columns(table)
    for row in conn.execute(sa.select(table).where(table.c.id.in_(sorted(set(ids))))).mappings():
        stored = to_stored(model_cls, row, columns)
        if stored is not None:
            found[int(row["id"])] = stored
    return found


def scoped(column: sa.ColumnElement[Any], ids: Collection[int] | None) -> sa.ColumnElement[bool] | None:
    """`column IN ids`; None when `ids` is None (everyone's). An empty collection is handled by callers
    (no query at all: no one's rows)."""
    return None if ids is None else column.in_(sorted({int(i) for i in ids}))


def listed(
    conn: Connection,
    table: sa.Table,
    model_cls: type[M],
    *,
    where: Sequence[sa.ColumnElement[bool] | None],
    limit: int | None,
    offset: int,
) -> list[Stored[M]]:
    """Rows matching every condition, newest recorded first (then highest id)."""
    query = sa.select(table).order_by(table.c.recorded_at.desc(), table.c.id.desc()).offset(offset)
    for condition in where:
        if condition is not None:
            query = query.where(condition)
    if limit is not None:
        query = query.limit(limit)
    columns = wire_columns(table)
    rows = (to_stored(model_cls, row, columns) for row in conn.execute(query).mappings())
    return [row for row in rows if row is not None]
