"""Clients: search, create, and Brusnika's fixing decision in plain words."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kontur.auth import enforce
from kontur.auth.policy import Action
from kontur.labels import FIXING_TYPE
from kontur.models import Client, ClientCreate, FixingType

from . import local
from .context import FormContext
from .identity import acting_refusal
from .rules import FieldChecker, InvalidInput, check_required, normalize_phone
from .submit import Outcome, call_plain, call_with_key

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
    refusal = acting_refusal(ctx.actor)
    if refusal:
        ctx.audit("create_client", values.__dict__, "refused", message=refusal)
        return Outcome(ok=False, message=refusal, code="actor_cannot_act")
    assert ctx.actor is not None
    own = enforce.own(ctx)  # the new client is fixed to the acting agent
    if denied := enforce.refusal(ctx, Action.CREATE_CLIENT, "create_client", values.__dict__, resource=own):
        return denied
    model, problems = validate(values, agent_id=ctx.actor.id)
    if model is None:
        ctx.audit("create_client", values.__dict__, "invalid", message="Ошибка в форме")
        return Outcome(ok=False, message="Исправьте отмеченные поля.", code="invalid", field_errors=problems)
    payload = model.to_wire()
    key = ctx.keys.key_for(FORM, payload)
    outcome = call_with_key(
        FORM,
        payload,
        lambda k: ctx.client.create_client(model, idempotency_key=k),
        ctx.keys,
        success_message="Клиент заведён.",
    )
    if outcome.ok and outcome.result is not None:
        client = outcome.result
        outcome.message = f"Клиент №{client.id} заведён. {FIXING_TYPE[client.fixing_type]}."
        local.client_saved(ctx.conn, client)
    ctx.audit(
        "create_client",
        payload,
        outcome,
        brusnika_id=outcome.result.id if outcome.result else None,
        idempotency_key=key,
    )
    return outcome


def search(ctx: FormContext, query: str) -> Outcome[list[Client]]:
    """By phone when the query reads as one, by name otherwise."""
    text = (query or "").strip()
    if not text:
        return Outcome(
            ok=False,
            message="Введите телефон или ФИО.",
            code="invalid",
            field_errors={"query": "Введите телефон или ФИО."},
        )
    try:
        phone = normalize_phone(text)
    except InvalidInput:
        phone = None
    if phone is not None:
        outcome = call_plain(lambda: ctx.client.search_clients(phone_number=phone))
    else:
        outcome = call_plain(lambda: ctx.client.search_clients(fullname=text))
    if outcome.ok and outcome.result is not None:
        for client in outcome.result:
            local.client_saved(ctx.conn, client)
        outcome.message = f"Найдено: {len(outcome.result)}."
    return outcome


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
