"""Shared dashboard helpers: the process runtime, cached reads, the sidebar scope, number formats.

Pages import from here and from `kontur.queries`; they never open connections or write SQL.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import urljoin

import pandas as pd
import streamlit as st

from kontur import labels
from kontur.config import Settings
from kontur.models import PremiseType
from kontur.queries import Filters, scope
from kontur.runtime import Runtime, start_runtime

T = TypeVar("T")

# Session-state keys of the sidebar scope. They are not widget keys, so Streamlit never deletes them
# when a page (or the widget) goes away; the widgets are re-seeded from them on every run.
SCOPE_KEYS: tuple[str, str, str] = ("scope_city_id", "scope_project_id", "scope_building_id")
PRESELECTED_PREMISE_KEY = "preselected_premise_id"

STATUS_COLORS: dict[str, str] = {"free": "#2e9e5b", "booked": "#f0a030", "sold": "#b8bec6"}


# --- runtime -----------------------------------------------------------------------------------


def settings() -> Settings:
    """Settings from the environment over `.streamlit/secrets.toml` (re-read each run: cheap)."""
    # Only touch st.secrets when a secrets.toml exists: reading a missing one is an error.
    secrets: Any = st.secrets if st.secrets.load_if_toml_exists() else None
    return Settings.from_env(os.environ, secrets)


@st.cache_resource(show_spinner="Подготовка кэша…")
def _runtime(cache_path: str, api_url: str | None) -> Runtime:
    # Keyed by where the data lives (never by the token): one runtime per configuration, so tests
    # that point the app at another cache file get their own.
    return start_runtime(settings())


def runtime() -> Runtime:
    s = settings()
    return _runtime(str(s.cache_path), s.api_url)


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


def media_urls(urls: Iterable[str | None]) -> list[str | None]:
    """Photo URLs the browser can load. The sandbox's records carry relative URLs
    (`/media/premises/1.svg`, see kontur/sandbox/media.py): they are resolved against the API's
    origin; an absolute URL (the real Brusnika's) comes back unchanged. One settings read for the
    whole list: a table shows a thousand photos."""
    base = runtime().settings.api_url
    return [None if not u else urljoin(str(base), u) if base else u for u in urls]


def media_url(url: str | None) -> str | None:
    return media_urls([url])[0]


# --- sidebar scope -----------------------------------------------------------------------------


# The widgets' "all" choice. Ids are positive, so 0 never collides; the scope keys store None for it
# (a None option would render as an empty selectbox).
ALL = 0


def _keep(key: str) -> None:
    value = st.session_state[f"_w_{key}"]
    st.session_state[key] = None if value == ALL else value


def _scope_select(label: str, key: str, options: dict[int, str], all_label: str) -> int | None:
    current = st.session_state.get(key)
    if current not in options:
        current = None
        st.session_state[key] = None
    st.session_state[f"_w_{key}"] = ALL if current is None else current
    st.sidebar.selectbox(
        label,
        [ALL, *options],
        format_func=lambda v: all_label if v == ALL else options[v],
        key=f"_w_{key}",
        on_change=_keep,
        args=(key,),
    )
    return st.session_state[key]


def sidebar_scope() -> Filters:
    """City → project → building in the sidebar; the choice survives page switches."""
    city_key, project_key, building_key = SCOPE_KEYS
    cities = read(scope.cities)
    city_id = _scope_select(
        "Город",
        city_key,
        dict(zip(cities["id"].tolist(), cities["name"].tolist(), strict=True)),
        "Все города",
    )
    projects = read(scope.projects, city_id)
    project_id = _scope_select(
        "Проект",
        project_key,
        dict(zip(projects["id"].tolist(), projects["name"].tolist(), strict=True)),
        "Все проекты",
    )
    buildings = read(scope.buildings, project_id, city_id)
    building_id = _scope_select(
        "Здание",
        building_key,
        dict(zip(buildings["id"].tolist(), buildings["address"].tolist(), strict=True)),
        "Все здания",
    )
    return Filters(
        city_id=None if city_id is None else int(city_id),
        project_id=None if project_id is None else int(project_id),
        building_id=None if building_id is None else int(building_id),
    )


def current_scope() -> Filters:
    """The scope chosen in the sidebar (app.py draws it before the page runs)."""
    values = [st.session_state.get(k) for k in SCOPE_KEYS]
    return Filters(*(None if v is None else int(v) for v in values))


# --- formatting --------------------------------------------------------------------------------

NBSP = "\u202f"  # narrow no-break space: the Russian thousands separator


def fmt_int(value: float | int | None) -> str:
    if value is None:
        return "—"
    return f"{round(value):,}".replace(",", NBSP)


def fmt_rub(value: float | int | None) -> str:
    return "—" if value is None or pd.isna(value) else f"{fmt_int(value)}{NBSP}₽"


def fmt_mln(value: float | int | None) -> str:
    """6 250 000 → «6,3 млн ₽»."""
    if value is None:
        return "—"
    return f"{value / 1e6:.1f}".replace(".", ",") + f"{NBSP}млн{NBSP}₽"


def fmt_num(value: float | None, digits: int = 1) -> str:
    """12345.67 → «12 345,7»: Russian grouping and decimal comma."""
    if value is None or pd.isna(value):
        return "—"
    text = f"{value:,.{digits}f}".replace(",", NBSP).replace(".", ",")
    return text


def number_text(**kwargs: Any) -> Any:
    """A column of numbers pre-formatted as Russian text (fmt_rub, fmt_pct, ...), right-aligned like
    numbers: the browser's own number formats are English whatever the manager's language."""
    return st.column_config.TextColumn(alignment="right", **kwargs)


def fmt_pct(share: float | None) -> str:
    if share is None or pd.isna(share):
        return "—"
    return f"{share * 100:.1f}".replace(".", ",") + f"{NBSP}%"


def fmt_area(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}".replace(".", ",") + f"{NBSP}м²"


# --- shared page pieces ------------------------------------------------------------------------


def stop_if_cache_empty() -> None:
    """Every page starts here: an empty cache gets a clear message (and a way out), not a traceback."""
    if read(scope.premises_count) > 0 or read(scope.leads_count) > 0:
        return
    rt = runtime()
    if rt.sync.running:
        st.info(
            "Идёт первая синхронизация с Брусникой — данные появятся через несколько секунд.",
            icon=":material/sync:",
        )
    else:
        st.warning(
            "Кэш пуст: данных Брусники ещё нет. Запустите синхронизацию на странице «Синхронизация».",
            icon=":material/database:",
        )
    st.stop()


def no_results(what: str = "помещений") -> None:
    st.info(
        f"Нет {what}, подходящих под выбранные фильтры. Ослабьте фильтры или выберите другой объект.",
        icon=":material/filter_alt_off:",
    )


def premise_caption(row: Any) -> str:
    """One line about a premise, as in the booking picker: «№ 124 · 2-комн. · 5 эт. · 54,3 м² · 6,3 млн ₽»."""
    rooms = (
        labels.rooms_label(int(row.rooms))
        if row.type == "apartment"
        else labels.label_of(PremiseType, row.type)
    )
    return f"№ {row.number} · {rooms} · {row.floor} эт. · {fmt_area(row.size)} · {fmt_mln(row.price)}"


def fmt_age(seconds: float | None) -> str:
    """A duration in words a manager reads at a glance: «40 с», «12 мин», «3 ч», «2 дн»."""
    if seconds is None or pd.isna(seconds):  # never synced
        return "—"
    seconds = max(0.0, float(seconds))
    for limit, unit, size in ((60, "с", 1), (3600, "мин", 60), (86400, "ч", 3600)):
        if seconds < limit:
            return f"{int(seconds // size)}{NBSP}{unit}"
    return f"{int(seconds // 86400)}{NBSP}дн"


def ensure_people_names() -> None:
    """Demo mode: agents and managers are shown by name only once the local users directory is
    filled; seed it from the sandbox (as the forms pages do) instead of showing «Агент #123»."""
    from kontur.forms import page as forms_page  # the forms package imports this module
    from kontur.queries import people

    rt = runtime()
    if not rt.demo or rt.sandbox is None or read(people.directory_size) > 0:
        return
    forms_page.ensure_directory(rt, forms_page.connection())
