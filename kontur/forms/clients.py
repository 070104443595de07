"""Clients: search, create, and Brusnika's fixing decision in plain words."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kontur.auth import directory
from kontur.auth.actor import acting_refusal
from kontur.auth.policy import Action
from kontur.labels import FIXING_TYPE
from kontur.models import Client, ClientCreate, FixingType
from kontur.store.db import Store

from . import flow, local
from .context import FormContext
from .rules import FieldChecker, InvalidInput, check_required, normalize_phone
from .submit import Outcome

FORM = "client"

REFUSAL_REASON = (
    "Этот телефон уже принадлежит клиенту другого агента, и его закрепление ещё действует. "
    "Клиент заведён, но за вами не закреплён."
)


@dataclass
class ClientInput:
    fullname: str
    phone_number: str
    comment: str = ""


def validate(values: ClientInput, *, agent_id: int) -> tuple[ClientCreate | None, dict[str, str]]:
    checker = FieldChecker()
    fullname = checker.check("fullname", check_required, values.fullname, "ФИО клиента")
    phone = checker.check("phone_number", normalize_phone, values.phone_number)
    if not checker.ok:
        return None, checker.errors
    model = ClientCreate(
        fullname=" ".join(str(fullname).split()),
        phone_number=phone,
        comment=(values.comment or "").strip(),
        agent_id=agent_id,
    )
    return model, {}


def create(ctx: FormContext, values: ClientInput) -> Outcome[Client]:
    """A client registered for the agent acted for (the wire's `agent_id`: Brusnika fixes the client
    to that agent)."""
    typed = values.__dict__
    acting = ctx.acting(Action.CREATE_CLIENT)
    if (
        stop := flow.guard(
            ctx,
            "create_client",
            typed,
            acting=acting,
            refusal_of=acting_refusal,
            refusal_code="actor_cannot_act",
            permission=Action.CREATE_CLIENT,
            resource=flow.agent_resource(ctx, acting.agent),  # the new client is fixed to the agent
        )
    ) is not None:
        return stop
    assert ctx.actor is not None
    assert acting.agent is not None
    model, problems = validate(values, agent_id=acting.agent.id)
    if model is None:
        return flow.invalid(ctx, "create_client", typed, problems)
    actor_id = ctx.actor.id

    return flow.send(
        ctx,
        "create_client",
        FORM,
        model.to_wire(),
        lambda k: ctx.client.create_client(model, idempotency_key=k),
        success_message="Клиент заведён.",
        record=lambda tx, client: local.clients_saved(tx, [client], recorded_by=actor_id),
        announce=lambda client: f"Клиент №{client.id} заведён. {FIXING_TYPE[client.fixing_type]}.",
    )


def search(ctx: FormContext, query: str) -> Outcome[list[Client]]:
    """By phone when the query reads as one, by name otherwise. What is found is recorded in the
    store, so the booking and visit forms can pick it (and check its fixing)."""

    def choose(text: str) -> Callable[[], list[Client]]:
        try:
            phone = normalize_phone(text)
        except InvalidInput:
            return lambda: ctx.client.search_clients(fullname=text)
        return lambda: ctx.client.search_clients(phone_number=phone)

    def save(found: Sequence[Client]) -> None:
        with ctx.store.write() as tx:
            local.clients_saved(tx, found, recorded_by=None if ctx.actor is None else ctx.actor.id)

    return flow.search(query, empty_message="Введите телефон или ФИО.", choose=choose, save=save)


def agent_names(store: Store) -> dict[int, str]:
    """Directory names by user id, for saying whom a client is fixed to."""
    with store.read() as tx:
        return directory.names(tx)


def fixing_summary(client: Client, *, now: dt.datetime, agent_names: dict[int, str] | None = None) -> dict:
    """The card's wording: decision, whom the client is fixed to, time left, why refused."""
    names = agent_names or {}
    agent = names.get(client.agent_id, f"агент №{client.agent_id}")
    decision = FIXING_TYPE[client.fixing_type]
    summary: dict[str, str | None] = {"decision": decision, "agent": None, "countdown": None, "reason": None}
    if client.fixing_type == FixingType.REFUSED:
        summary["reason"] = REFUSAL_REASON
        return summary
    summary["agent"] = f"Закреплён за: {agent}"
    if client.expiration_date is not None:
        summary["countdown"] = countdown(client.expiration_date, now=now)
    return summary


def countdown(expires: dt.datetime, *, now: dt.datetime) -> str:
    if now.tzinfo is None:
        now = now.astimezone()
    left = expires - now
    if left.total_seconds() <= 0:
        return f"Закрепление истекло {expires.astimezone():%d.%m.%Y %H:%M}."
    days, rest = divmod(int(left.total_seconds()), 86400)
    hours = rest // 3600
    minutes = rest % 3600 // 60
    if days:
        span = f"{days} дн. {hours} ч"
    elif hours:
        span = f"{hours} ч {minutes} мин"
    else:
        span = f"{minutes} мин"
    return f"До окончания закрепления: {span} (до {expires.astimezone():%d.%m.%Y %H:%M})."
