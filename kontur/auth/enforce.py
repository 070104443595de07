"""The policy applied where it matters: inside the functions the forms call, before any request.

Each submission function in `kontur.forms` starts with one call here. A refusal comes back as the
form's usual `Outcome` (the reason in words, code `forbidden`), is written to the audit table with
the acting identity, and nothing is sent to Brusnika.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kontur.forms.submit import Outcome

from . import directory
from .policy import Action, NotAllowed, Resource, require

if TYPE_CHECKING:
    from kontur.forms.context import FormContext

FORBIDDEN = "forbidden"


def refusal(
    ctx: FormContext,
    action: Action,
    audit_action: str,
    request: Mapping[str, Any],
    *,
    resource: Resource | None = None,
) -> Outcome[Any] | None:
    """None when the acting user may do this; otherwise the refused outcome, already audited."""
    try:
        require(ctx.actor, action, resource=resource)
    except NotAllowed as refused:
        outcome: Outcome[Any] = Outcome(ok=False, message=str(refused), code=FORBIDDEN)
        ctx.audit(audit_action, request, "refused", message=outcome.message)
        return outcome
    return None


def own(ctx: FormContext) -> Resource:
    """A record the acting user makes for themself (their agent_id goes on it)."""
    actor = ctx.actor
    return Resource(
        agent_id=None if actor is None else actor.id,
        agency_id=None if actor is None else actor.agency_id,
    )


def for_client(ctx: FormContext, client_id: int | None) -> Resource:
    """Acting for a client: in scope when the client's agent is (agency roles act for their agency's
    clients). A client not chosen yet is checked as the user's own, so validation can say what is
    missing instead of a refusal."""
    if client_id is None:
        return own(ctx)
    return directory.client_resource(ctx.conn, client_id)


def booking(ctx: FormContext, booking_id: int) -> Resource:
    return directory.booking_resource(ctx.conn, booking_id)


def visit(ctx: FormContext, visit_id: int) -> Resource:
    return directory.visit_resource(ctx.conn, visit_id)


def user(ctx: FormContext, user_id: int, agency_id: int | None) -> Resource:
    """A directory entry being sent: it belongs to its agency (heads of agency manage their own)."""
    return Resource(agent_id=user_id, agency_id=agency_id)
