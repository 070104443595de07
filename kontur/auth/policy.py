"""Who may do what: one table of roles × actions, and the checks every page and form goes through.

Pages use `can(...)` to hide what a role may not do; the submission functions call `require(...)`
before anything is sent to Brusnika, so a hidden button is never the only line of defence.

Rules that are not in the table, applied by `can` in this order:
- a `blocked` user may do nothing at all, not even browse;
- only `role` is ever applied; a pending `temporary_role` (a role-change request) is shown, never
  granted, because nobody has approved it yet;
- a scoped permission (`AGENCY`, `OWN`) is checked against the record acted on (`Resource`); without a
  record, `can` answers whether the role may do this kind of thing at all (enough to show a page).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from kontur.labels import USER_ROLE
from kontur.models import User
from kontur.models.enums import UserRole, UserStatus

from .actor import Actor


class Action(StrEnum):
    BROWSE = "browse"  # catalogue, chessboard, projects, slots
    VIEW_LEADS = "view_leads"  # deals and the funnel
    CREATE_BOOKING = "create_booking"
    CANCEL_OWN_BOOKING = "cancel_own_booking"
    CANCEL_ANY_BOOKING = "cancel_any_booking"
    CREATE_VISIT = "create_visit"
    CANCEL_VISIT = "cancel_visit"
    BOOK_TIME_SLOT = "book_time_slot"
    CREATE_CLIENT = "create_client"
    CREATE_AGENCY = "create_agency"
    MANAGE_USERS = "manage_users"
    SYNC_NOW = "sync_now"


class Scope(StrEnum):
    """How far a granted permission reaches."""

    ALL = "all"  # any record
    AGENCY = "agency"  # records of the user's own agency (its agents' clients and bookings)
    OWN = "own"  # records the user is the agent of


A, S, R = Action, Scope, UserRole

# The policy. A missing (role, action) pair means "not allowed". Documented in README
# ("Sign-in and roles"): change both together.
POLICY: Mapping[UserRole, Mapping[Action, Scope]] = {
    R.ADMIN: {action: S.ALL for action in Action},
    R.MANAGER: {action: S.ALL for action in Action if action is not A.MANAGE_USERS},
    R.OZK_MANAGER: {action: S.ALL for action in Action if action is not A.MANAGE_USERS},
    # Works with partner agencies: registers them and follows their deals; does not book for clients.
    R.AFFILIATE_MANAGER: {
        A.BROWSE: S.ALL,
        A.VIEW_LEADS: S.ALL,
        A.CREATE_AGENCY: S.ALL,
    },
    R.HEAD_OF_AGENCY: {
        A.BROWSE: S.ALL,
        A.VIEW_LEADS: S.AGENCY,
        A.CREATE_BOOKING: S.AGENCY,
        A.CANCEL_OWN_BOOKING: S.OWN,
        A.CANCEL_ANY_BOOKING: S.AGENCY,
        A.CREATE_VISIT: S.AGENCY,
        A.CANCEL_VISIT: S.AGENCY,
        A.BOOK_TIME_SLOT: S.AGENCY,
        A.CREATE_CLIENT: S.AGENCY,
        # Registering the agency one works with: a new record that belongs to nobody yet (Brusnika
        # refuses a second registration of the same INN).
        A.CREATE_AGENCY: S.ALL,
        A.MANAGE_USERS: S.AGENCY,
    },
    R.AGENT: {
        A.BROWSE: S.ALL,
        A.VIEW_LEADS: S.AGENCY,
        A.CREATE_BOOKING: S.AGENCY,
        A.CANCEL_OWN_BOOKING: S.OWN,
        A.CREATE_VISIT: S.AGENCY,
        A.CANCEL_VISIT: S.AGENCY,
        A.BOOK_TIME_SLOT: S.AGENCY,
        A.CREATE_CLIENT: S.AGENCY,
        A.CREATE_AGENCY: S.ALL,
    },
    R.NEW_MEMBER: {A.BROWSE: S.ALL},
}


@dataclass(frozen=True)
class Grant:
    """What a role holding `manage_users` may change in another person's directory entry. How far it
    reaches (any agency, or its own) is the `manage_users` scope in `POLICY`."""

    roles: frozenset[UserRole]  # the roles it may give, and the roles of the people it may edit
    limit: bool  # whether it may change the booking limit (`remaining_user_creation_limit`)


# Who may grant what. Rules beyond this table (`may_change_user`): nobody changes their own role,
# status, agency or limit; a change is checked against the stored entry, not the form.
GRANTS: Mapping[UserRole, Grant] = {
    R.ADMIN: Grant(roles=frozenset(UserRole), limit=True),
    R.HEAD_OF_AGENCY: Grant(roles=frozenset({R.AGENT, R.NEW_MEMBER}), limit=False),
}
# Whom a role may act for (book, show, register a client *for*: the wire's `agent_id` is that agent,
# whose booking limit and fixings apply). Company roles choose any agent; a head of agency an agent of
# their own agency; every other role acts for themself only. Documented in README ("Acting for an
# agent"): change both together.
ACTS_FOR: Mapping[UserRole, Scope] = {
    R.ADMIN: S.ALL,
    R.MANAGER: S.ALL,
    R.OZK_MANAGER: S.ALL,
    R.HEAD_OF_AGENCY: S.AGENCY,
}
# A person's own entry: these fields only somebody else may change.
SELF_LOCKED = ("role", "status", "agency_id", "remaining_user_creation_limit")

ACTION_LABEL: Mapping[Action, str] = {
    A.BROWSE: "просмотр каталога",
    A.VIEW_LEADS: "просмотр сделок",
    A.CREATE_BOOKING: "бронирование",
    A.CANCEL_OWN_BOOKING: "отмена своей брони",
    A.CANCEL_ANY_BOOKING: "отмена чужой брони",
    A.CREATE_VISIT: "запись на показ",
    A.CANCEL_VISIT: "отмена показа",
    A.BOOK_TIME_SLOT: "бронирование слота показа",
    A.CREATE_CLIENT: "регистрация клиента",
    A.CREATE_AGENCY: "регистрация агентства",
    A.MANAGE_USERS: "управление пользователями",
    A.SYNC_NOW: "запуск синхронизации",
}


@dataclass(frozen=True)
class Resource:
    """The record acted on, reduced to what scoping needs: whose it is and which agency that person
    belongs to (a booking's, visit's or client's `agent_id`, and that agent's `agency_id`)."""

    agent_id: int | None = None
    agency_id: int | None = None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


class NotAllowed(PermissionError):
    """Raised by `require`; its message is the reason, safe to show to the person."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.reason)
        self.decision = decision


def _role(user: Actor) -> UserRole | None:
    """The role in force; an unknown value (a newer directory, a broken row) grants nothing."""
    try:
        return UserRole(user.role)
    except ValueError:
        return None


def _status(user: Actor) -> UserStatus | None:
    try:
        return UserStatus(user.status)
    except ValueError:
        return None  # unknown status: treated as not active


def _role_label(role: UserRole) -> str:
    return USER_ROLE.get(role, str(role))


def can(user: Actor | None, action: Action | str, *, resource: Resource | None = None) -> Decision:
    """Whether `user` may perform `action` (on `resource`, when given), with the reason in Russian."""
    action = Action(action)
    what = ACTION_LABEL[action]
    if user is None:
        return Decision(False, "Вход не выполнен: действие недоступно.")
    if _status(user) is not UserStatus.ACTIVE:
        return Decision(False, "Пользователь заблокирован: действия недоступны.")
    role = _role(user)
    if role is None:
        return Decision(False, "Роль пользователя не задана или неизвестна: действия недоступны.")
    scope = POLICY.get(role, {}).get(action)
    if scope is None:
        return Decision(False, f"Роль «{_role_label(role)}» не допускает действие: {what}.")
    if resource is None or scope is Scope.ALL:
        return Decision(True, f"Роль «{_role_label(role)}» допускает действие: {what}.")
    if resource.agent_id is None and resource.agency_id is None:
        # The record's owner is not known locally (e.g. a client never seen here): only roles that
        # may act on any record go ahead.
        return Decision(False, f"Не удалось определить, чья это запись: действие «{what}» недоступно.")
    if scope is Scope.AGENCY:
        if user.agency_id is None:
            return Decision(False, f"Пользователь не привязан к агентству: действие «{what}» недоступно.")
        if resource.agency_id != user.agency_id:
            return Decision(False, f"Запись принадлежит другому агентству: действие «{what}» недоступно.")
        return Decision(True, f"Запись вашего агентства: {what} разрешено.")
    # Scope.OWN: say which line was crossed, since "another agency" is the more useful news.
    if resource.agent_id == user.id:
        return Decision(True, f"Ваша запись: {what} разрешено.")
    if user.agency_id is None or resource.agency_id != user.agency_id:
        return Decision(False, f"Запись принадлежит другому агентству: действие «{what}» недоступно.")
    return Decision(False, f"Запись оформлена другим агентом вашего агентства: действие «{what}» недоступно.")


def can_cancel_booking(user: Actor | None, booking: Resource) -> Decision:
    """Cancelling is one button for two permissions: one's own booking, or anybody's in scope."""
    own = can(user, Action.CANCEL_OWN_BOOKING, resource=booking)
    if own.allowed:
        return own
    anyone = can(user, Action.CANCEL_ANY_BOOKING, resource=booking)
    if anyone.allowed:
        return anyone
    # Report the reason of the broader permission when the role has it at all (e.g. "another
    # agency" for a head of agency), otherwise the narrower one's.
    role_has_any = _scope_of(user, Action.CANCEL_ANY_BOOKING) is not None
    return anyone if role_has_any else own


def may_cancel_bookings(user: Actor | None) -> Decision:
    """Whether to show cancel buttons at all (each booking is still checked by `can_cancel_booking`)."""
    own = can(user, Action.CANCEL_OWN_BOOKING)
    return own if own.allowed else can(user, Action.CANCEL_ANY_BOOKING)


def require(user: Actor | None, action: Action | str, *, resource: Resource | None = None) -> Decision:
    """`can`, raising `NotAllowed` on refusal: the first line of every submission function."""
    action = Action(action)
    if action in (Action.CANCEL_OWN_BOOKING, Action.CANCEL_ANY_BOOKING) and resource is not None:
        decision = can_cancel_booking(user, resource)
    else:
        decision = can(user, action, resource=resource)
    if decision.allowed and resource is None and _scope_of(user, action) is not Scope.ALL:
        # A scoped permission checked without the record would let an agent act for anyone: the
        # submission must say whose record it is.
        decision = Decision(
            False, f"Не удалось проверить, чья это запись: действие «{ACTION_LABEL[action]}» недоступно."
        )
    if not decision.allowed:
        raise NotAllowed(decision)
    return decision


def scope_of(user: Actor | None, action: Action | str) -> Scope | None:
    """How far the user's permission reaches (to filter a list in one query rather than row by row);
    None when `can` refuses it outright (no such permission, blocked, unknown role)."""
    action = Action(action)
    return _scope_of(user, action) if can(user, action).allowed else None


def _scope_of(user: Actor | None, action: Action) -> Scope | None:
    role = None if user is None else _role(user)
    return None if role is None else POLICY.get(role, {}).get(action)


def role_permits(user: Actor | None, action: Action | str) -> bool:
    """Whether the user's role (status aside) has this permission at all: who may be acted for."""
    return _scope_of(user, Action(action)) is not None


def roles_permitted(action: Action | str) -> frozenset[str]:
    """The role values `role_permits` admits for `action`, to filter a list in one query."""
    action = Action(action)
    return frozenset(role.value for role, granted in POLICY.items() if action in granted)


def acts_for(user: Actor | None, action: Action | str) -> Scope | None:
    """How far `user` may act for others in `action` (`ACTS_FOR`); None: for themself only (or not at
    all, when `can` refuses them the action)."""
    role = None if user is None else _role(user)
    if role is None or not can(user, action).allowed:
        return None
    return ACTS_FOR.get(role)


def role_summary(user: Actor) -> str:
    """The role as shown to the person, with a pending change request marked as not in force."""
    role = _role(user)
    text = _role_label(role) if role is not None else "роль не задана"
    temporary = getattr(user, "temporary_role", None)
    if temporary and str(temporary) != str(user.role):
        shown = _role_label(UserRole(temporary)) if temporary in set(UserRole) else str(temporary)
        text += f" (запрошена роль «{shown}», ещё не действует)"
    return text


# --------------------------------------------------------------------------- who may grant what

_FIELD_LABEL: Mapping[str, str] = {
    "role": "роль",
    "status": "статус",
    "agency_id": "агентство",
    "remaining_user_creation_limit": "лимит броней",
    "temporary_role": "запрошенную роль",
}


def _changed(stored: User | None, proposed: User) -> set[str]:
    """The policy-relevant fields `proposed` changes; against a new entry's defaults when there is no
    stored one (a role is always being given then)."""
    if stored is None:
        fields = {"role", "agency_id"}
        if proposed.remaining_user_creation_limit:
            fields.add("remaining_user_creation_limit")
        if proposed.temporary_role is not None:
            fields.add("temporary_role")
        return fields | ({"status"} if proposed.status is not UserStatus.ACTIVE else set())
    return {name for name in _FIELD_LABEL if getattr(stored, name) != getattr(proposed, name)}


def grantable_roles(actor: Actor | None) -> list[UserRole]:
    """The roles `actor` may give (in the enum's order); empty when they may not manage users."""
    role = None if actor is None else _role(actor)
    grant = GRANTS.get(role) if role is not None and can(actor, Action.MANAGE_USERS) else None
    return [] if grant is None else [r for r in UserRole if r in grant.roles]


def may_change_user(actor: Actor | None, stored: User | None, proposed: User) -> Decision:
    """Whether `actor` may send `proposed` as the directory entry now stored as `stored` (None: not in
    the directory yet). The form's values are never trusted: the checks compare with `stored`."""
    allowed = can(actor, Action.MANAGE_USERS)
    if actor is None or not allowed:
        return allowed
    role = _role(actor)
    grant = GRANTS.get(role) if role is not None else None
    if role is None or grant is None:
        return Decision(False, f"Роль «{_role_label(role) if role else '—'}» не может назначать права.")
    if stored is not None and stored.id != proposed.id:
        return Decision(False, "Запись пользователя не совпадает с сохранённой: изменение не принято.")
    changed = _changed(stored, proposed)
    if proposed.id == actor.id:
        mine = [name for name in SELF_LOCKED if name in changed]
        if mine:
            what = ", ".join(_FIELD_LABEL[name] for name in mine)
            return Decision(False, f"Свои права менять нельзя ({what}): это делает другой администратор.")
        return Decision(True, "Изменение своей записи без прав доступа разрешено.")
    if POLICY[role][Action.MANAGE_USERS] is Scope.AGENCY:
        agencies = {proposed.agency_id} | ({stored.agency_id} if stored is not None else set())
        if actor.agency_id is None or agencies != {actor.agency_id}:
            return Decision(
                False, "Пользователь не из вашего агентства: управлять им может только администратор."
            )
    if stored is not None and stored.role not in grant.roles:
        return Decision(
            False,
            f"Пользователем с ролью «{_role_label(stored.role)}» управляет только администратор.",
        )
    for name in ("role", "temporary_role"):
        given = getattr(proposed, name)
        if name in changed and given is not None and given not in grant.roles:
            return Decision(False, f"Роль «{_role_label(given)}» может назначить только администратор.")
    if "remaining_user_creation_limit" in changed and not grant.limit:
        return Decision(False, "Лимит броней меняет только администратор.")
    return Decision(True, "Изменение в пределах ваших прав.")
