"""Acting for an agent: a manager books, shows and registers clients *for* an agent they choose. The
wire's `agent_id` is that agent; the agent's booking limit, status and fixings are what is checked;
the audit records both the person who acted and the agent (`on_behalf_of`).

Who may act for whom is `policy.ACTS_FOR`: company roles (ADMIN, MANAGER, OZK_MANAGER) for any
agent, a head of agency for an agent of their agency, everyone else for themself only. The agent
must be someone whose role may do the action themself (a new member cannot be booked for).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from kontur.labels import USER_ROLE
from kontur.models.enums import UserRole, UserStatus
from kontur.store import users as store_users

from .actor import Actor
from .policy import ACTION_LABEL, Action, Scope, acts_for, role_permits, roles_permitted


@dataclass(frozen=True)
class Acting:
    """Who acts (`actor`, the person signed in or picked) and for whom (`agent`); `refusal` says why
    the choice of agent cannot stand (then `agent` is None)."""

    actor: Actor | None
    agent: Actor | None
    refusal: str | None = None

    @property
    def for_other(self) -> bool:
        return self.actor is not None and self.agent is not None and self.agent.id != self.actor.id


def may_choose_agent(actor: Actor | None, action: Action | str) -> bool:
    """Whether the page offers `actor` a choice of agent for `action`."""
    return acts_for(actor, action) is not None


def _role_label(role: str) -> str:
    try:
        return USER_ROLE.get(UserRole(role), role)
    except ValueError:
        return role


def resolve(tx: Connection, actor: Actor | None, agent_id: int | None, action: Action | str) -> Acting:
    """The agent `actor` acts for in `action`, read afresh from the directory: themself when
    `agent_id` is None or their own id; the chosen agent when the policy lets them choose one."""
    action = Action(action)
    if actor is None or agent_id is None or int(agent_id) == actor.id:
        return Acting(actor, actor)
    reach = acts_for(actor, action)
    what = ACTION_LABEL[action]
    if reach is None:
        return Acting(
            actor,
            None,
            f"Роль «{_role_label(actor.role)}» действует только от своего имени: "
            f"действие «{what}» для другого агента недоступно.",
        )
    found = store_users.get_user(tx, int(agent_id))
    if found is None:
        return Acting(actor, None, f"Агент №{agent_id} не найден в справочнике пользователей.")
    agent = Actor.from_user(found.user)
    if reach is Scope.AGENCY and (actor.agency_id is None or agent.agency_id != actor.agency_id):
        return Acting(
            actor, None, f"Агент {agent.name} не из вашего агентства: действие «{what}» для него недоступно."
        )
    if not role_permits(agent, action):
        return Acting(
            actor,
            None,
            f"Пользователь {agent.name} с ролью «{_role_label(agent.role)}» не может быть агентом: "
            f"действие «{what}» для него недоступно.",
        )
    return Acting(actor, agent)


def agent_options(tx: Connection, actor: Actor | None, action: Action | str) -> list[store_users.Person]:
    """Whom `actor` may act for in `action`, as the light rows a choice lists: themself first, then the
    active people of the roles the policy lets act as agents (by name; their agency's only for a head
    of agency), in one narrow query. Just themself for a role that acts for itself only. Whoever is
    chosen is checked again, on their validated record, by `resolve`."""
    if actor is None:
        return []
    me = store_users.Person(actor.id, actor.name, actor.role, actor.status, actor.agency_id)
    reach = acts_for(actor, action)
    if reach is None:
        return [me]
    agency = actor.agency_id if reach is Scope.AGENCY else None
    if reach is Scope.AGENCY and agency is None:
        return [me]
    roles = roles_permitted(action)
    others = store_users.people(tx, status=UserStatus.ACTIVE.value, roles=roles, agency_id=agency)
    return [me, *(p for p in others if p.id != actor.id)]
