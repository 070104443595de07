"""Who the pages of issue 14 (selections, «Сегодня», lead drill-down) are shown to, what they may read,
and where those pages keep their records.

Nothing of its own: the reader is `kontur.auth.session.current_actor()` (whoever `app.py`'s gate let
through, signed in or picked), their reach is `kontur.ui.access.scope_for` (the policy's `view_leads`
scope, the same as the deals page), and the store is the runtime's operational store. A change to any
of those reaches these pages without an edit here.
"""

from __future__ import annotations

from kontur.auth.actor import Actor
from kontur.auth.policy import Action
from kontur.auth.scopes import ReadScope
from kontur.store.db import Store

from . import access
from .process import runtime


def reader() -> Actor | None:
    """The person the page is shown to and acts for (None: nobody let through)."""
    return access.reader()


def scope(actor: Actor | None, action: Action = Action.VIEW_LEADS) -> ReadScope:
    """Whose records `actor` may read for `action` (selections, leads, clients, bookings, visits:
    `view_leads`)."""
    return access.scope_for(actor, action)


def store() -> Store:
    """The process's operational store (`Runtime.store`)."""
    return runtime().store
