"""Who acts on the pages of issue 14 (selections, «Сегодня», lead drill-down), what they may read, and
Kontur's operational store those pages keep their records in.

One place, so the next round swaps it in one go: the reader becomes `kontur.auth.session.current_actor`
(and `kontur.ui.access.scope_for`) and the store the runtime's own once they land. Until then: the
signed-in person when sign-in is configured, else the demo picker; agency members from the directory
the picker reads; the store opened from `Settings` like `kontur users` does.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import streamlit as st

from kontur import ui
from kontur.auth import session as auth_session
from kontur.auth.policy import Action
from kontur.auth.scopes import ReadScope, read_scope
from kontur.config import FeatureSettings
from kontur.queries import today as today_q
from kontur.store.db import Store


@st.cache_resource(show_spinner=False)
def _store(_url: str, key: str) -> Store:
    # Keyed by a digest of the URL: the URL may carry the database password, never a cache key.
    return Store.open(_url)


def store() -> Store:
    url = ui.settings().ops_database_url()
    return _store(url, hashlib.sha256(url.encode()).hexdigest())


def feature_settings() -> FeatureSettings:
    """Mortgage presets, map style, fixing warning days (environment over `.streamlit/secrets.toml`)."""
    secrets: Any = st.secrets if st.secrets.load_if_toml_exists() else None
    return FeatureSettings.from_env(os.environ, secrets)


def picker() -> Any:
    """Once, at the top of a page: the signed-in person, or the demo picker drawn in the sidebar (a
    widget: drawing it twice in one run is an error, so the pieces inside a page call `reader()`)."""
    if auth_session.uses_sign_in():
        return auth_session.signed_in_actor()
    from kontur.forms import page as forms_page  # the forms package imports kontur.ui

    return forms_page.actor_picker()


def reader() -> Any:
    """The person the page is shown to and acts for, without drawing anything (None: nobody signed in
    or picked yet). The demo picker's choice lives under `ACTOR_STATE_KEY`, shared by every page."""
    if auth_session.uses_sign_in():
        return auth_session.signed_in_actor()
    from kontur.forms import lookups
    from kontur.forms import page as forms_page
    from kontur.forms.identity import ACTOR_STATE_KEY, Actor

    chosen = st.session_state.get(ACTOR_STATE_KEY)
    if chosen is None:
        return None
    row = lookups.user(forms_page.connection(), int(chosen))
    return None if row is None else Actor.from_row(row)


def agency_members(agency_id: int) -> list[int]:
    return list(ui.read(today_q.agency_members, int(agency_id)))


def scope(actor: Any, action: Action = Action.VIEW_LEADS) -> ReadScope:
    """Whose records `actor` may read for `action` (selections, leads, clients, bookings, visits:
    `view_leads`)."""
    return read_scope(actor, action, agency_members)


def scope_ids(read: ReadScope) -> frozenset[int] | None:
    """`agent_ids` as the store's functions take them."""
    return read.agent_ids
