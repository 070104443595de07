"""Agent and manager names from the local `users` table, when it has been filled."""

from __future__ import annotations

from ._db import Conn, frame, has_table

# Spellings the `users` table may use for the name columns (wire camelCase or snake_case), first wins.
_NAME_COLUMNS: tuple[tuple[str, str], ...] = (("lastName", "firstName"), ("last_name", "first_name"))


def name_columns(con: Conn) -> tuple[str, str] | None:
    """The (last, first) column pair of `users`, or None when there is no table to read names from."""
    if not has_table(con, "users"):
        return None
    present = set(
        frame(con, "SELECT column_name FROM information_schema.columns WHERE table_name = 'users'")[
            "column_name"
        ]
    )
    for pair in _NAME_COLUMNS:
        if set(pair) <= present:
            return pair
    return None


def name_sql(con: Conn, alias: str, id_sql: str, fallback: str) -> tuple[str, str]:
    """(select expression, join clause) giving a display name for the person whose id is `id_sql`;
    `fallback` is a constant prefix such as 'Агент #'. Identifiers come from this module's constants
    and the caller's own aliases, never from data."""
    cols = name_columns(con)
    if cols is None:
        return f"'{fallback}' || {id_sql}", ""
    last, first = cols
    expr = (
        f"coalesce(nullif(trim(concat_ws(' ', {alias}.\"{last}\", {alias}.\"{first}\")), ''), "
        f"'{fallback}' || {id_sql})"
    )
    return expr, f"LEFT JOIN users {alias} ON {alias}.id = {id_sql}"
