"""The sidebar scope every page shares: city → project → building, surviving page switches."""

from __future__ import annotations

import contextlib

import streamlit as st

from kontur.queries import Filters, scope

from .reads import read
from .safe import plain

# Session-state keys of the sidebar scope. They are not widget keys, so Streamlit never deletes them
# when a page (or the widget) goes away; the widgets are re-seeded from them on every run.
SCOPE_KEYS: tuple[str, str, str] = ("scope_city_id", "scope_project_id", "scope_building_id")

# The widgets' "all" choice. Ids are positive, so 0 never collides; the scope keys store None for it
# (a None option would render as an empty selectbox).
ALL = 0

PROJECT_PAGE = "pages/project.py"

# Names longer than this are cut in the choices (a 10 kB partner name must not swamp the sidebar).
NAME_LIMIT = 120


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


def _names(ids: list, names: list) -> dict[int, str]:
    # Choices are plain text in Streamlit; `plain` still drops bidi overrides and cuts giant names.
    return {int(i): plain(n, limit=NAME_LIMIT) for i, n in zip(ids, names, strict=True)}


def sidebar_scope() -> Filters:
    """City → project → building in the sidebar; the choice survives page switches."""
    city_key, project_key, building_key = SCOPE_KEYS
    cities = read(scope.cities)
    city_id = _scope_select(
        "Город", city_key, _names(cities["id"].tolist(), cities["name"].tolist()), "Все города"
    )
    projects = read(scope.projects, city_id)
    project_id = _scope_select(
        "Проект", project_key, _names(projects["id"].tolist(), projects["name"].tolist()), "Все проекты"
    )
    buildings = read(scope.buildings, project_id, city_id)
    building_id = _scope_select(
        "Здание",
        building_key,
        _names(buildings["id"].tolist(), buildings["address"].tolist()),
        "Все здания",
    )
    if project_id is not None:
        _project_link()
    return Filters(
        city_id=None if city_id is None else int(city_id),
        project_id=None if project_id is None else int(project_id),
        building_id=None if building_id is None else int(building_id),
    )


def _project_link() -> None:
    """The chosen project's card (the «Проект» page), for whoever may open that page."""
    # not in this person's navigation: no link
    with contextlib.suppress(st.errors.StreamlitAPIException):
        st.sidebar.page_link(PROJECT_PAGE, label="Карточка проекта", icon=":material/domain:")


def current_scope() -> Filters:
    """The scope chosen in the sidebar (app.py draws it before the page runs)."""
    values = [st.session_state.get(k) for k in SCOPE_KEYS]
    return Filters(*(None if v is None else int(v) for v in values))
