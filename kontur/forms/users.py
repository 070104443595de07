"""The users directory, as its owner: Kontur keeps it in the operational store, creates and edits
people here (every field of the contract's User) and pushes each saved entry to Brusnika with
`PUT /users/{id}`, within the policy's grant rules (`policy.may_change_user`).

Every save is checked here, against the entry as stored, before anything is sent: the Users page
offers only what the acting person may set (`edit_options`), but the page is not what is trusted.
Brusnika's answer is what is kept (with the audit row and `pushed_at`, one store transaction): a
change Brusnika refused is not in force here either. The booking limit travels with every push as
Kontur counts it (`remaining_user_creation_limit`, decremented once per booking made through Kontur):
Kontur is the owner of the number.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
from pydantic import ValidationError

from kontur import labels
from kontur.auth import directory
from kontur.auth.actor import Actor, acting_refusal, booking_refusal
from kontur.auth.policy import (
    GRANTS,
    Action,
    Decision,
    Scope,
    can,
    grantable_roles,
    may_change_user,
    scope_of,
)
from kontur.models import User, UserRole, UserStatus
from kontur.store import agencies, audit
from kontur.store import users as store_users
from kontur.store.db import Store

from . import flow
from .context import FormContext, actor_label
from .rules import FieldChecker, InvalidInput, check_email, check_required, normalize_phone
from .submit import Outcome, call_plain

FORM = "user"
AUDIT_ACTION = "put_user"
_URL = re.compile(r"^https?://[^\s/]+\S*$")


def seed(store: Store, users: Iterable[dict[str, Any]], *, by: str = "demo: the sandbox's directory") -> int:
    """Load a directory (the sandbox's `SandboxAdmin.users()` in demo mode, tests) into the store."""
    parsed = [User.model_validate(row) for row in users]
    with store.write() as tx:
        store_users.upsert_users(tx, parsed, by=by)
    return len(parsed)


def listed(store: Store, actor: Actor | None) -> list[dict[str, Any]]:
    """The directory as the Users page lists it for `actor`: everyone for an administrator, their
    agency's people for a head of agency, nobody for a role without `manage_users`."""
    with store.read() as tx:
        return directory.users(tx, directory.scope_for(tx, actor, Action.MANAGE_USERS))


def stored(store: Store, user_id: int) -> User | None:
    """The entry as the directory holds it now (what a change is checked against)."""
    with store.read() as tx:
        return directory.stored_user(tx, user_id)


def next_id(store: Store) -> int:
    with store.read() as tx:
        return store_users.next_id(tx)


def table(listed_rows: list[dict[str, Any]], agencies: dict[int, str]) -> pd.DataFrame:
    """The Users page's table: names, contacts, role (and a pending request) and status in words,
    agency, bookings left."""
    columns = ["№", "Пользователь", "Почта", "Роль", "Запрошена роль", "Статус", "Агентство"]
    columns += ["Осталось броней", "Может бронировать"]
    return pd.DataFrame(
        [
            {
                "№": row["id"],
                "Пользователь": f"{row['lastName']} {row['firstName']}",
                "Почта": row["email"],
                "Роль": labels.label_of(UserRole, row["role"]),
                "Запрошена роль": labels.label_of(UserRole, row["temporary_role"])
                if row.get("temporary_role")
                else "",
                "Статус": labels.label_of(UserStatus, row["status"]),
                "Агентство": agencies.get(row["agency_id"])
                or (f"№{row['agency_id']}" if row["agency_id"] else "—"),
                "Осталось броней": row["remaining_user_creation_limit"],
                "Может бронировать": booking_refusal(Actor.from_row(row)) or "да",
            }
            for row in listed_rows
        ],
        columns=columns,
    )


@dataclass(frozen=True)
class EditOptions:
    """What the Users page offers `actor` for one entry (None: a new one)."""

    roles: list[str]  # the role choices
    temporary_roles: list[str]  # the requested-role choices ("" = none)
    statuses: list[str]
    limit: bool  # whether the booking limit is editable
    agency_locked: bool  # the agency is kept as stored (or the head's own, for a new entry)
    decision: Decision  # whether the entry may be saved at all, with the reason
    note: str = ""  # what stays locked and why

    @property
    def default_role(self) -> int:
        """The role a new entry starts from: the least one offered (nobody gets rights by default)."""
        least = UserRole.NEW_MEMBER.value
        return self.roles.index(least) if least in self.roles else 0


def edit_options(actor: Actor | None, stored: User | None) -> EditOptions:
    """The choices to offer, derived from the same rules `send` applies (so the page never offers a
    change that would be refused)."""
    everything = [status.value for status in UserStatus]
    grantable = [role.value for role in grantable_roles(actor)]
    if stored is None:
        decision = can(actor, Action.MANAGE_USERS)
        if decision.allowed and not grantable:
            decision = Decision(False, "Ваша роль не может назначать права.")
        grant = GRANTS.get(UserRole(actor.role)) if decision.allowed and actor is not None else None
        own_agency = scope_of(actor, Action.MANAGE_USERS) is Scope.AGENCY
        limit = grant is not None and grant.limit
        return EditOptions(grantable, ["", *grantable], everything, limit, own_agency, decision)
    own_role, own_status = [stored.role.value], [stored.status.value]
    own_request = ["", stored.temporary_role.value] if stored.temporary_role else [""]
    if actor is not None and actor.id == stored.id:
        note = "Свои роль, статус, агентство и лимит броней менять нельзя: это делает другой администратор."
        allowed = Decision(True, "Можно изменить свои контактные данные.")
        return EditOptions(own_role, own_request, own_status, False, True, allowed, note)
    decision = may_change_user(actor, stored, stored)
    if not decision.allowed:
        return EditOptions(own_role, own_request, own_status, False, True, decision)
    roles = grantable if stored.role.value in grantable else [stored.role.value, *grantable]
    probe = stored.model_copy(
        update={"remaining_user_creation_limit": stored.remaining_user_creation_limit + 1}
    )
    limit = may_change_user(actor, stored, probe).allowed
    moved = stored.model_copy(update={"agency_id": (stored.agency_id or 0) + 1})
    agency_locked = not may_change_user(actor, stored, moved).allowed
    return EditOptions(roles, ["", *grantable], everything, limit, agency_locked, decision)


def agency_choices(store: Store, actor: Actor | None, stored: User | None) -> dict[int, str]:
    """The agencies a user may be put in: those known to Kontur (registered or found through it) and
    any a directory entry names; a head of agency only their own."""
    with store.read() as tx:
        known = {a.record.id: a.record.title for a in agencies.list_agencies(tx, limit=None)}
        named = {u.user.agency_id for u in store_users.list_users(tx) if u.user.agency_id is not None}
    choices = {**{a: f"агентство №{a}" for a in sorted(named)}, **known}
    if actor is not None and actor.role == UserRole.HEAD_OF_AGENCY:
        own = actor.agency_id
        return {own: choices.get(own, f"агентство №{own}")} if own is not None else {}
    if stored is not None and stored.agency_id is not None and stored.agency_id not in choices:
        choices[stored.agency_id] = f"агентство №{stored.agency_id}"
    return choices


@dataclass
class UserForm:
    """What the Users page form holds, as typed (widgets' values)."""

    user_id: int | None
    last_name: str
    first_name: str
    email: str
    phone: str = ""
    role: str = UserRole.AGENT.value
    status: str = UserStatus.ACTIVE.value
    temporary_role: str = ""  # "" = none requested
    city_id: int | None = None
    agency_id: int | None = None
    birth_date: dt.date | None = None
    work_start_date: dt.date | None = None
    avatar: str = ""
    remaining: int | None = None  # None: not offered (kept as stored, 0 for a new entry)


def form_values(user: User) -> UserForm:
    """A stored entry as the form starts from."""
    return UserForm(
        user_id=user.id,
        last_name=user.last_name,
        first_name=user.first_name,
        email=user.email,
        phone=user.phone,
        role=user.role.value,
        status=user.status.value,
        temporary_role=user.temporary_role.value if user.temporary_role else "",
        city_id=user.city_id,
        agency_id=user.agency_id,
        birth_date=user.birth_date,
        work_start_date=user.work_start_date,
        avatar=user.avatar or "",
        remaining=user.remaining_user_creation_limit,
    )


def _avatar(raw: str) -> str | None:
    text = (raw or "").strip()
    if not text:
        return None
    if len(text) > 2000 or not _URL.match(text):
        raise InvalidInput("Адрес аватара — ссылка http(s)://…, например https://cdn.example.ru/me.png.")
    return text


def _phone(raw: str) -> str:
    return normalize_phone(raw) if (raw or "").strip() else ""


def validate(form: UserForm, stored: User | None, *, today: dt.date) -> tuple[User | None, dict[str, str]]:
    """The entry the form makes (on top of `stored`), or the problems keyed by wire field name."""
    c = FieldChecker()
    c.require("id", form.user_id, "Укажите номер пользователя.")
    if form.user_id is not None and form.user_id < 1:
        c.errors["id"] = "Номер пользователя — целое число больше нуля."
    last = c.check("lastName", check_required, form.last_name, "фамилию")
    first = c.check("firstName", check_required, form.first_name, "имя")
    email = c.check("email", check_email, form.email)
    phone = c.check("phone", _phone, form.phone)
    avatar = c.check("avatar", _avatar, form.avatar)
    if form.birth_date is not None and form.birth_date > today:
        c.errors["birthDate"] = "Дата рождения не может быть в будущем."
    if form.remaining is not None and form.remaining < 0:
        c.errors["remaining_user_creation_limit"] = "Лимит броней — число 0 или больше."
    if not c.ok:
        return None, c.errors
    remaining = form.remaining
    if remaining is None:
        remaining = 0 if stored is None else stored.remaining_user_creation_limit
    try:
        user = User.model_validate(
            {
                "id": form.user_id,
                "lastName": " ".join(str(last).split()),
                "firstName": " ".join(str(first).split()),
                "phone": phone,
                "email": email,
                "status": UserStatus(form.status),
                "role": UserRole(form.role),
                "temporary_role": UserRole(form.temporary_role) if form.temporary_role else None,
                "city_id": form.city_id,
                "birthDate": form.birth_date,
                "agency_id": form.agency_id,
                "workStartDate": form.work_start_date,
                "avatar": avatar,
                "remaining_user_creation_limit": remaining,
            }
        )
    except (ValidationError, ValueError) as error:
        return None, {"form": f"Форма заполнена неверно: {error.__class__.__name__}."}
    return user, {}


def save(ctx: FormContext, form: UserForm, *, new: bool) -> Outcome[User]:
    """Create (`new`) or edit one entry: checked (the person may act, the id is free or stored, the
    fields, a unique e-mail, the grant rules), then pushed and kept."""
    typed = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in form.__dict__.items()}
    if (own_state := acting_refusal(ctx.actor)) is not None:
        ctx.audit(AUDIT_ACTION, typed, "refused", message=own_state)
        return Outcome(ok=False, message=own_state, code="actor_cannot_act")
    before = None if form.user_id is None else stored(ctx.store, form.user_id)
    if new and before is not None:
        message = f"Номер {form.user_id} уже занят пользователем {before.display_name}: выберите другой."
        return flow.invalid(ctx, AUDIT_ACTION, typed, {"id": message})
    if not new and before is None:
        message = f"Пользователя №{form.user_id} нет в справочнике Контура: обновите страницу."
        ctx.audit(AUDIT_ACTION, typed, "refused", message=message)
        return Outcome(ok=False, message=message, code="unknown_user")
    user, problems = validate(form, before, today=ctx.clock().date())
    if user is None:
        return flow.invalid(ctx, AUDIT_ACTION, typed, problems)
    if (taken := _email_taken(ctx.store, user)) is not None:
        return flow.invalid(ctx, AUDIT_ACTION, typed, {"email": taken})
    return send(ctx, user, stored=before)


def _email_taken(store: Store, user: User) -> str | None:
    with store.read() as tx:
        others = [u for u in directory.find_by_email(tx, user.email) if u.id != user.id]
    if not others:
        return None
    return (
        f"Этот адрес уже указан у пользователя №{others[0].id}: у каждого пользователя свой адрес для входа."
    )


def answer_request(ctx: FormContext, user_id: int, *, approve: bool) -> Outcome[User]:
    """A requested role (`temporary_role`) approved (it becomes the role) or rejected (dropped)."""
    before = stored(ctx.store, user_id)
    if before is None or before.temporary_role is None:
        message = "Запроса на смену роли нет: обновите страницу."
        ctx.audit(AUDIT_ACTION, {"user_id": user_id, "approve": approve}, "refused", message=message)
        return Outcome(ok=False, message=message, code="no_request")
    role = before.temporary_role if approve else before.role
    form = replace(form_values(before), role=role.value, temporary_role="")
    return save(ctx, form, new=False)


@dataclass
class UserChange:
    """A quick change of one stored entry's rights (status, role, limit)."""

    user_id: int
    status: str
    role: str
    remaining: int | None = None  # None: not offered (kept as stored)


def push(ctx: FormContext, change: UserChange) -> Outcome[User]:
    """Apply `change` to the stored entry and save it (checked, pushed, kept, audited)."""
    before = stored(ctx.store, change.user_id)
    if before is None:
        return save(ctx, UserForm(change.user_id, "", "", ""), new=False)
    form = replace(form_values(before), status=change.status, role=change.role)
    if change.remaining is not None:
        form.remaining = change.remaining
    return save(ctx, form, new=False)


def send(ctx: FormContext, user: User, *, stored: User | None) -> Outcome[User]:
    """Send one entry, checked against `stored` (what the directory holds now; None: a new entry),
    and keep Brusnika's answer with the audit row and `pushed_at`, in one store transaction."""
    payload = user.to_wire()
    decision = may_change_user(ctx.actor, stored, user)  # `manage_users` first, then the grant rules
    if not decision.allowed:
        ctx.audit(AUDIT_ACTION, payload, "refused", message=decision.reason, brusnika_id=user.id)
        return Outcome(ok=False, message=decision.reason, code=flow.FORBIDDEN)
    outcome = call_plain(lambda: ctx.client.put_user(user), success_message="Пользователь передан.")
    entry = ctx.entry(AUDIT_ACTION, payload, outcome, brusnika_id=user.id)
    if not (outcome.ok and outcome.result is not None):
        ctx.audit(AUDIT_ACTION, payload, outcome, brusnika_id=user.id)
        return outcome
    saved = outcome.result
    outcome.message = f"Пользователь {saved.display_name} сохранён и передан в Брусника."
    try:
        with ctx.store.write() as tx:
            report = store_users.upsert_users(tx, [saved], by=actor_label(ctx.actor))
            store_users.mark_pushed(tx, [saved.id])
            audit.record_action(tx, replace(entry, message=outcome.message))
    except Exception:
        outcome.stored_locally = False
        done = f"Пользователь {saved.display_name} передан в Брусника."
        outcome.message = flow.NOT_STORED.format(done=done)
        ctx.audit(AUDIT_ACTION, payload, outcome, brusnika_id=user.id)
        return outcome
    if stored is None and saved.id not in report.created:
        outcome.message += " Внимание: этот номер в тот же момент занял другой сеанс — проверьте запись."
    return outcome
