"""Where the dashboard meets sign-in: the gate `app.py` runs before any page, the pages a role may
open, and the acting user the forms receive in place of the demo picker."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .directory import agent_resource, users_with_email
from .identity import SignedIn
from .policy import Action, Decision, can, can_cancel_booking, may_cancel_bookings
from .signin import auth_enabled, gate, sidebar_account, signed_in

if TYPE_CHECKING:
    from kontur.forms.identity import Actor
    from kontur.runtime import Runtime

# Which permission opens which page; a page not listed needs only BROWSE. Forms pages open for
# anyone who may do their main action (each submission is still checked against the record).
PAGE_ACTIONS: Mapping[str, Action] = {
    "pages/leads.py": Action.VIEW_LEADS,
    "pages/visits.py": Action.CREATE_VISIT,
    "pages/clients.py": Action.CREATE_CLIENT,
    "pages/agencies.py": Action.CREATE_AGENCY,
    "pages/users.py": Action.MANAGE_USERS,
    "pages/sync_health.py": Action.SYNC_NOW,
}


def page_decision(user: Any, path: str) -> Decision:
    if path == "pages/bookings.py":
        booking = can(user, Action.CREATE_BOOKING)
        return booking if booking.allowed else may_cancel_bookings(user)
    return can(user, PAGE_ACTIONS.get(path, Action.BROWSE))


def allowed_pages(
    pages: Mapping[str, Sequence[tuple[str, str, str]]], user: Any
) -> dict[str, list[tuple[str, str, str]]]:
    """The navigation with every page the user may not open left out (sections left empty too)."""
    kept = {
        section: [entry for entry in entries if page_decision(user, entry[0]).allowed]
        for section, entries in pages.items()
    }
    return {section: entries for section, entries in kept.items() if entries}


def app_gate(rt: Runtime) -> SignedIn | None:
    """Run by `app.py` before navigation. Demo mode (no `[auth]`): None, and nothing changes. With
    `[auth]`: the signed-in, active, known person, with the account box in the sidebar; anyone else
    gets the sign-in screen or the refusal and the script stops there."""
    if not auth_enabled():
        return None
    with rt.cursor() as conn:
        _seed_demo_directory(rt, conn)
        me = gate(lambda email: users_with_email(conn, email))
    if me is not None:
        sidebar_account(me)
    return me


def _seed_demo_directory(rt: Runtime, conn: Any) -> None:
    """Sign-in over the embedded sandbox: the directory starts as the sandbox's users (as the demo
    picker's does), otherwise nobody could be found to sign in as."""
    if not rt.demo or rt.sandbox is None:
        return
    from kontur.forms import lookups, users

    if not lookups.users(conn):
        users.seed(conn, rt.sandbox.admin().users(), lock=rt.cache.write_lock)
        rt.bump_version()


def signed_in_actor() -> Actor | None:
    """The acting user for the forms when sign-in is on. Their name carries the signed-in email, so
    every audit row says which account acted."""
    from kontur.forms.identity import Actor

    me = signed_in()
    if me is None:
        return None
    user = me.user
    return Actor(
        id=user.id,
        name=f"{user.display_name} <{me.email}>",
        role=str(user.role),
        status=str(user.status),
        remaining=user.remaining_user_creation_limit,
        agency_id=user.agency_id,
    )


def uses_sign_in() -> bool:
    """True when the demo picker must not be offered (sign-in decides who acts)."""
    return auth_enabled()


def current_user() -> Any:
    """Whoever acts in this session for hiding buttons: the signed-in user, else None (demo mode
    leaves buttons to the picked user's own checks)."""
    me = signed_in()
    return None if me is None else me.user


def booking_cancel_decision(conn: Any, actor: Any, booking: Mapping[str, Any]) -> Decision:
    """Whether this booking's cancel button is offered (the same check `bookings.cancel` applies)."""
    return can_cancel_booking(actor, agent_resource(conn, booking.get("agent_id")))


def visit_cancel_decision(conn: Any, actor: Any, visit: Mapping[str, Any]) -> Decision:
    return can(actor, Action.CANCEL_VISIT, resource=agent_resource(conn, visit.get("agent_id")))
