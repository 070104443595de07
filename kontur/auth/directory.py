"""Reading the users directory, which lives in Kontur's operational store (`kontur.store.users`): who
signs in, who acts, who belongs to which agency, and whose a booking, visit or client is.

Every function takes a connection of the store (`with store.read() as tx:`), so a caller reads the
directory and the records it checks in one snapshot. Nothing here is cached: sign-in, roles, blocks
and scopes always read the store as it is now, so a user blocked on one replica is refused on every
other at their next click. Writes go through `kontur.forms.users` (and `kontur users` on the command
line).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from kontur.models import User
from kontur.store import bookings, clients, visits
from kontur.store import users as store_users

from .actor import Actor
from .policy import Action, Resource
from .scopes import ReadScope, read_scope


def find_by_email(tx: Connection, email: str) -> list[User]:
    """Every directory entry whose email matches (trimmed, case-insensitive); usually one. Runs on
    every rerun of a signed-in page."""
    return store_users.find_by_email(tx, email)


def agency_members(tx: Connection, agency_id: int) -> list[int]:
    """The ids of the directory's users of one agency: the `members` of `scopes.read_scope`."""
    return sorted(store_users.agency_members(tx, agency_id))


def scope_for(tx: Connection, actor: Actor | None, action: Action | str) -> ReadScope:
    """`read_scope` with this directory's agency membership: whose records `actor` may read."""
    return read_scope(actor, action, lambda agency_id: agency_members(tx, agency_id))


def row(user: User) -> dict[str, Any]:
    """A directory entry by wire names (`lastName`, `firstName`, …), as the pages and the picker read it."""
    return user.to_wire()


def users(tx: Connection, scope: ReadScope | None = None) -> list[dict[str, Any]]:
    """The directory by wire names, ordered by name; with `scope`, only the entries it allows (the
    Users page shows a head of agency their agency's people only)."""
    ids = None if scope is None else scope.agent_ids
    return [row(s.user) for s in store_users.list_users(tx, ids=ids)]


def people(tx: Connection) -> list[store_users.Person]:
    """Everyone, light (`store.users.people`): what the development picker lists."""
    return store_users.people(tx)


def version(tx: Connection) -> tuple[Any, ...]:
    """What changes whenever the directory does (any replica): keys caches of the whole list."""
    return store_users.fingerprint(tx)


def user(tx: Connection, user_id: int) -> dict[str, Any] | None:
    found = store_users.get_user(tx, user_id)
    return None if found is None else row(found.user)


def stored_user(tx: Connection, user_id: int) -> User | None:
    """One directory entry as it is stored now, every field: what a change is checked against."""
    found = store_users.get_user(tx, user_id)
    return None if found is None else found.user


def acting_user(tx: Connection, user_id: int | None) -> Actor | None:
    """The directory's entry for a picked user id, as an `Actor` (None when not in the directory)."""
    found = None if user_id is None else stored_user(tx, user_id)
    return None if found is None else Actor.from_user(found)


def names(tx: Connection, ids: set[int] | None = None) -> dict[int, str]:
    """«Фамилия Имя» by user id (everyone's, or these ids'), for saying who an agent is."""
    found = store_users.list_users(tx) if ids is None else store_users.get_users(tx, ids).values()
    return {s.user.id: s.user.display_name for s in found}


def agent_resource(tx: Connection, agent_id: int | None) -> Resource:
    """A record owned by this agent: its scope is the agent and their agency (as stored now)."""
    if agent_id is None:
        return Resource()
    found = store_users.get_user(tx, int(agent_id))
    return Resource(agent_id=int(agent_id), agency_id=None if found is None else found.user.agency_id)


def client_resource(tx: Connection, client_id: int | None) -> Resource:
    """Acting for a client: the client belongs to the agent it is fixed to (as recorded here)."""
    found = None if client_id is None else clients.get_client(tx, client_id)
    return agent_resource(tx, None if found is None else found.record.agent_id)


def booking_resource(tx: Connection, booking_id: int) -> Resource:
    found = bookings.get_booking(tx, booking_id)
    return agent_resource(tx, None if found is None else found.record.agent_id)


def visit_resource(tx: Connection, visit_id: int) -> Resource:
    found = visits.get_visit(tx, visit_id)
    return agent_resource(tx, None if found is None else found.record.agent_id)
