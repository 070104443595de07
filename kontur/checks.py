"""Row checks in SQL for what DuckDB's typed `read_json` does not enforce, derived from the wire models.

DuckDB already refuses a value it cannot cast to the column type (the whole batch then falls back to
per-record pydantic validation). What it accepts but the contract forbids — a missing required field,
an enum value outside the enum, a number out of range, a string not matching its pattern, a timestamp
without an offset — is caught by the expression built here, one reason per failing rule. Deriving the
rules from the pydantic models keeps the fast path and the fallback agreeing on what "valid" means.
"""

from __future__ import annotations

import datetime as dt
import enum
import types
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

import annotated_types
from pydantic import AwareDatetime

from kontur.models import INBOUND_MODELS
from kontur.schema import COLUMNS

# A timestamp on the wire must carry its offset (RFC 3339); DuckDB would silently assume UTC.
_OFFSET_PATTERN = r"(Z|z|[+-]\d{2}:?\d{2})$"


@dataclass(frozen=True)
class EntityChecks:
    """How one entity is read from pages and checked.

    `wire_types`: DuckDB type to read each column as inside the page STRUCT (timestamps and the
    contract's numeric strings come in as VARCHAR so their format can be checked). `casts`: the SELECT
    list turning a checked batch into stored column types. `reason_sql` + `params`: an expression that is
    NULL for a good row and names every broken rule otherwise.
    """

    columns: tuple[str, ...]
    wire_types: tuple[tuple[str, str], ...]
    casts: str
    reason_sql: str
    params: tuple[Any, ...]


def _unwrap(annotation: Any) -> tuple[Any, bool, list[Any]]:
    """(base type, nullable, extra metadata) of a field annotation such as `PositiveId | None`."""
    nullable = False
    metadata: list[Any] = []
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        nullable = len(args) < len(get_args(annotation))
        annotation = args[0]
    if get_origin(annotation) is Annotated:
        base, *extra = get_args(annotation)
        for item in extra:
            metadata.extend(getattr(item, "metadata", [item]))
        annotation = base
    return annotation, nullable, metadata


def _is_datetime(base: Any) -> bool:
    return base is AwareDatetime or (isinstance(base, type) and issubclass(base, dt.datetime))


@cache
def entity_checks(entity: str) -> EntityChecks:
    model = INBOUND_MODELS[entity]
    stored = dict(COLUMNS[entity])
    wire_types: list[tuple[str, str]] = []
    casts: list[str] = []
    live_rules: list[tuple[str, str, list[Any]]] = []  # (condition, message, params)
    always_rules: list[tuple[str, str, list[Any]]] = []  # apply to tombstones too

    for name, sql_type in COLUMNS[entity]:
        field = model.model_fields[name]
        base, nullable, metadata = _unwrap(field.annotation)
        metadata = [*field.metadata, *metadata]
        col = f'"{name}"'
        rules = always_rules if name in ("id", "updated_at") else live_rules
        as_string = _is_datetime(base) or (base is str and stored[name] != "VARCHAR")
        wire_types.append((name, "VARCHAR" if as_string else sql_type))
        casts.append(f"CAST({col} AS {sql_type}) AS {col}" if as_string else col)

        if not nullable:
            rules.append((f"{col} IS NULL", f"{name}: field required", []))
        if _is_datetime(base):
            rules.append(
                (
                    f"{col} IS NOT NULL AND (NOT regexp_matches({col}, ?) "
                    f"OR TRY_CAST({col} AS {sql_type}) IS NULL)",
                    f"{name}: not a timestamp with an offset",
                    [_OFFSET_PATTERN],
                )
            )
        elif as_string:
            rules.append(
                (f"{col} IS NOT NULL AND TRY_CAST({col} AS {sql_type}) IS NULL", f"{name}: not a number", [])
            )
        if isinstance(base, type) and issubclass(base, enum.Enum):
            allowed = [member.value for member in base]
            rules.append(
                (
                    f"{col} IS NOT NULL AND NOT list_contains(?::VARCHAR[], {col})",
                    f"{name}: not one of {allowed}",
                    [allowed],
                )
            )
        elif get_origin(base) is list:
            (item_type,) = get_args(base)
            if isinstance(item_type, type) and issubclass(item_type, enum.Enum):
                allowed = [member.value for member in item_type]
                # One membership test per item: list_has_all(allowed, col) gives the same answer
                # (an empty list passes, NULL items are ignored) but costs 5x as much.
                rules.append(
                    (
                        f"{col} IS NOT NULL AND NOT "
                        f"list_bool_and(list_transform({col}, lambda x: list_contains(?::VARCHAR[], x)))",
                        f"{name}: items must be among {allowed}",
                        [allowed],
                    )
                )
        for item in metadata:
            pattern = getattr(item, "pattern", None)
            if pattern:
                rules.append(
                    (
                        f"{col} IS NOT NULL AND NOT regexp_full_match({col}, ?)",
                        f"{name}: must match {pattern}",
                        [pattern],
                    )
                )
            if isinstance(item, annotated_types.Ge):
                rules.append((f"{col} < ?", f"{name}: must be >= {item.ge}", [item.ge]))
            elif isinstance(item, annotated_types.Gt):
                rules.append((f"{col} <= ?", f"{name}: must be > {item.gt}", [item.gt]))
            elif isinstance(item, annotated_types.Le):
                rules.append((f"{col} > ?", f"{name}: must be <= {item.le}", [item.le]))
            elif isinstance(item, annotated_types.Lt):
                rules.append((f"{col} >= ?", f"{name}: must be < {item.lt}", [item.lt]))

    parts: list[str] = []
    params: list[Any] = []
    for condition, message, rule_params in always_rules:
        parts.append(f"CASE WHEN {condition} THEN ? END")
        params.extend([*rule_params, message])
    for condition, message, rule_params in live_rules:
        parts.append(f"CASE WHEN NOT coalesce(deleted, false) AND ({condition}) THEN ? END")
        params.extend([*rule_params, message])
    # concat_ws skips NULLs; nullif turns "no broken rule" into NULL.
    reason_sql = "nullif(concat_ws('; ', " + ", ".join(parts) + "), '')"
    return EntityChecks(
        columns=tuple(name for name, _ in COLUMNS[entity]),
        wire_types=tuple(wire_types),
        casts=", ".join(casts),
        reason_sql=reason_sql,
        params=tuple(params),
    )
