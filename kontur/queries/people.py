"""Agent and manager names from the cache's mirror of the users directory (`directory_mirror`, copied
from Kontur's operational store by `kontur.mirror`), for the analytics joins."""

from __future__ import annotations

from kontur.cache.ddl import DIRECTORY_MIRROR

from ._db import Conn, has_table


def name_columns(con: Conn) -> tuple[str, str] | None:
    """The (last, first) name columns of the mirror, or None when the cache has no mirror to read
    names from (a file of an older layout not yet opened by this version)."""
    return ("last_name", "first_name") if has_table(con, DIRECTORY_MIRROR) else None


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
    return expr, f"LEFT JOIN {DIRECTORY_MIRROR} {alias} ON {alias}.id = {id_sql}"
