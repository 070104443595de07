"""Every read a page makes, scoped by the same policy as the actions.

`read_scope(actor, action, members)` turns the policy's reach for (actor, action) into the set of
agents whose records the person may see: everyone (`ALL`), the agents of their agency (`AGENCY`),
themself (`OWN`), or no one (the role may not do this at all, blocked, unknown). Queries apply it with
`ReadScope.predicate(column)` on the record's agent column (leads, bookings, visits, clients), the
actor column of the audit, or the id of a directory entry; one place, so a list, its summary, its chart
and its CSV can never disagree about whose rows they show.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .policy import Action, Actor, Scope, scope_of

# agency id -> the ids of the users directory's members of that agency
AgencyMembers = Callable[[int], Iterable[int]]


@dataclass(frozen=True)
class ReadScope:
    """Whose records may be read: `agent_ids` None means everyone's; an empty set means no one's."""

    agent_ids: frozenset[int] | None

    @classmethod
    def everyone(cls) -> ReadScope:
        return cls(None)

    @classmethod
    def no_one(cls) -> ReadScope:
        return cls(frozenset())

    @property
    def everything(self) -> bool:
        return self.agent_ids is None

    @property
    def nothing(self) -> bool:
        return self.agent_ids is not None and not self.agent_ids

    def allows(self, agent_id: int | None) -> bool:
        if self.agent_ids is None:
            return True
        return agent_id is not None and int(agent_id) in self.agent_ids

    def predicate(self, column: str) -> tuple[str, list[Any]]:
        """A DuckDB boolean expression over `column` (an identifier from our own query text, never a
        value) and its parameters. Everyone's: `TRUE`; no one's: `FALSE`; else a list membership."""
        if self.agent_ids is None:
            return "TRUE", []
        if not self.agent_ids:
            return "FALSE", []
        return f"list_contains(?::BIGINT[], {column})", [sorted(self.agent_ids)]

    def key(self) -> tuple[int, ...] | None:
        """Hashable and stable, for keying cached reads by scope."""
        return None if self.agent_ids is None else tuple(sorted(self.agent_ids))


def read_scope(actor: Actor | None, action: Action | str, members: AgencyMembers) -> ReadScope:
    """The records of `action`'s kind the actor may read. `members(agency_id)` lists the agency's
    users (the directory); the actor always counts as a member of their own agency."""
    scope = scope_of(actor, action)
    if scope is None or actor is None:
        return ReadScope.no_one()
    if scope is Scope.ALL:
        return ReadScope.everyone()
    if scope is Scope.OWN or actor.agency_id is None:
        return ReadScope(frozenset({int(actor.id)}))
    return ReadScope(frozenset({int(actor.id), *(int(m) for m in members(int(actor.agency_id)))}))
