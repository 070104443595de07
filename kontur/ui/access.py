"""Whose records a page shows: the person reading it and their read scope.

The scope comes from the same policy as the actions (`kontur.auth.scopes.read_scope`); pages pass it to
the query functions through `reads.read_scoped`, which applies it in SQL and keys the cache by it.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

import streamlit as st

from kontur.auth.policy import Action
from kontur.auth.scopes import ReadScope, read_scope
from kontur.queries import people

from .reads import read


def reader() -> Any:
    """The person this page is shown to: the signed-in user with `[auth]`, otherwise the user picked
    in the sidebar's «Действую от имени» (drawn here, as on the forms pages). None: nobody."""
    from kontur.forms import page as forms_page  # the forms package imports kontur.ui

    return forms_page.actor_picker()


def agency_members(agency_id: int) -> list[int]:
    return read(people.agency_members, agency_id)


def scope_for(actor: Any, action: Action) -> ReadScope:
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
