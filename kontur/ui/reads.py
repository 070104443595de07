"""Cached reads: every `kontur.queries` function a page runs goes through here, on a cursor of the
process's connection, cached until the data changes (a sync, a Kafka batch or a form's local write
bumps the runtime's data version)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from kontur.auth.scopes import ReadScope

from .process import runtime

T = TypeVar("T")


@st.cache_data(show_spinner=False, max_entries=512)
def _cached_read(cache_path: str, version: int, module: str, name: str, args: tuple[Any, ...]) -> Any:
    # `cache_path` and `version` only key the cache: a new sync (or another cache file) is a miss.
    fn = getattr(importlib.import_module(module), name)
    with runtime().cursor() as cur:
        return fn(cur, *args)


def read(fn: Callable[..., T], *args: Any) -> T:
    """Run a `kontur.queries` function on a cursor, cached until the next sync changes the data."""
    rt = runtime()
    return _cached_read(str(rt.settings.cache_path), rt.data_version, fn.__module__, fn.__qualname__, args)


@st.cache_data(show_spinner=False, max_entries=512)
def _cached_scoped_read(
    cache_path: str,
    version: int,
    module: str,
    name: str,
    scope_key: tuple[int, ...] | None,
    args: tuple[Any, ...],
) -> Any:
    fn = getattr(importlib.import_module(module), name)
    scope = ReadScope(None if scope_key is None else frozenset(scope_key))
    with runtime().cursor() as cur:
        return fn(cur, scope, *args)


def read_scoped(fn: Callable[..., T], scope: ReadScope, *args: Any) -> T:
    """`read` for a query that takes the reader's `ReadScope` after the cursor. The cache is keyed by
    `scope.key()`: two people of one agency share entries, two agencies never do."""
    rt = runtime()
    return _cached_scoped_read(
        str(rt.settings.cache_path), rt.data_version, fn.__module__, fn.__qualname__, scope.key(), args
    )


@st.cache_resource(show_spinner=False, max_entries=256)
def _cached_view(cache_path: str, version: int, module: str, name: str, args: tuple[Any, ...]) -> Any:
    fn = getattr(importlib.import_module(module), name)
    return fn(*args)


def view(fn: Callable[..., T], *args: Any) -> T:
    """What a page shows built from cached reads (a table with labels and checked URLs, a figure),
    made once per data version and arguments and shared by every session of the process, as is
    (no copy): callers only draw it, never modify it. `fn` takes only hashable arguments and reads
    through `read` (never `read_scoped`: the result is not per person)."""
    rt = runtime()
    return _cached_view(str(rt.settings.cache_path), rt.data_version, fn.__module__, fn.__qualname__, args)
