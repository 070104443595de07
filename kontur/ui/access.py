"""Whose records a page shows: the person reading it and their read scope.

The scope comes from the same policy as the actions (`kontur.auth.scopes.read_scope`); pages pass it to
the query functions through `reads.read_scoped`, which applies it in SQL and keys the cache by it.
"""

from __future__ import annotations

from typing import Any

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
