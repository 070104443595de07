"""Whose records a page shows: the person reading it and their read scope.

The reader is whoever `app.py`'s gate let through (`kontur.auth.session.current_actor`: signed in, or
picked in the demo/development picker). Their scope comes from the same policy as the actions
(`kontur.auth.scopes.read_scope`, agency membership from `kontur.auth.directory`, read from the
operational store at every run, never cached: a person moved to another agency on another replica
reads their new agency's rows at their next click); pages pass it to the query functions through
`reads.read_scoped`, which applies it in SQL and keys the cache by it.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

import streamlit as st

from kontur.auth import directory
from kontur.auth import session as auth_session
from kontur.auth.actor import Actor
from kontur.auth.policy import Action
from kontur.auth.scopes import ReadScope, read_scope

from .process import runtime


def reader() -> Actor | None:
    """The person this page is shown to; None: nobody (then every scope is "no one's")."""
    return auth_session.current_actor()


def agency_members(agency_id: int) -> list[int]:
    """The directory's members of an agency, as the store holds them now."""
    with runtime().store.read() as tx:
        return directory.agency_members(tx, agency_id)


def scope_for(actor: Actor | None, action: Action) -> ReadScope:
    return read_scope(actor, action, agency_members)


def lead_scope() -> ReadScope:
    """The leads the current reader may see (`view_leads`)."""
    return scope_for(reader(), Action.VIEW_LEADS)


def forget_when_changed(token: Hashable, keys: Iterable[str], *, name: str) -> None:
    """Drop the widget state under `keys` when `token` differs from the last run's (another reader,
    or new data bounds): filters chosen for one reader's rows must not silently narrow another's.
    Called before the widgets are drawn."""
    marker = f"_seen_{name}"
    if marker in st.session_state and st.session_state[marker] != token:
        for key in keys:
            st.session_state.pop(key, None)
    st.session_state[marker] = token
