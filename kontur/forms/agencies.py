"""Agencies: search by INN or title, create with a local INN check, show the one that already exists."""

from __future__ import annotations

from dataclasses import dataclass

from kontur.auth import enforce
from kontur.auth.policy import Action
from kontur.models import Agency, AgencyCreate

from . import local
from .context import FormContext
from .identity import acting_refusal
from .rules import FieldChecker, InvalidInput, check_email, check_inn, check_required, normalize_phone
from .submit import Outcome, call_plain, call_with_key

FORM = "agency"


@dataclass
class AgencyInput:
    title: str
    city_id: int | None
    legal_name: str
    inn: str
    phone: str
    email: str
    owner_full_name: str
    owner_phone: str


def validate(values: AgencyInput) -> tuple[AgencyCreate | None, dict[str, str]]:
    """Problems keyed by wire field name (`legalName`, `ownerPhone`, …)."""
    c = FieldChecker()
    title = c.check("title", check_required, values.title, "название агентства")
    c.require("city_id", values.city_id, "Выберите город.")
    legal = c.check("legalName", check_required, values.legal_name, "юридическое название")
    inn = c.check("inn", check_inn, values.inn)
    phone = c.check("phone", normalize_phone, values.phone)
    email = c.check("email", check_email, values.email)
    owner = c.check("ownerFullName", check_required, values.owner_full_name, "ФИО владельца")
    owner_phone = c.check("ownerPhone", normalize_phone, values.owner_phone)
    if not c.ok:
        return None, c.errors
    model = AgencyCreate(
        title=title,
        city_id=values.city_id,
        legalName=legal,
        inn=inn,
        phone=phone,
        email=email,
        ownerFullName=owner,
        ownerPhone=owner_phone,
    )
    return model, {}


def create(ctx: FormContext, values: AgencyInput) -> Outcome[Agency]:
    refusal = acting_refusal(ctx.actor)
    if refusal:
        ctx.audit("create_agency", values.__dict__, "refused", message=refusal)
        return Outcome(ok=False, message=refusal, code="actor_cannot_act")
    if (denied := enforce.refusal(ctx, Action.CREATE_AGENCY, "create_agency", values.__dict__)) is not None:
        return denied
    model, problems = validate(values)
    if model is None:
        ctx.audit("create_agency", values.__dict__, "invalid", message="Ошибка в форме")
        return Outcome(ok=False, message="Исправьте отмеченные поля.", code="invalid", field_errors=problems)
    payload = model.to_wire()
    key = ctx.keys.key_for(FORM, payload)
    outcome = call_with_key(
        FORM,
        payload,
        lambda k: ctx.client.create_agency(model, idempotency_key=k),
        ctx.keys,
        success_message="Агентство зарегистрировано.",
    )
    brusnika_id = outcome.result.id if outcome.result else None
    if outcome.ok and outcome.result is not None:
        outcome.message = f"Агентство «{outcome.result.title}» зарегистрировано (№{outcome.result.id})."
        local.agency_saved(ctx.conn, outcome.result)
    elif outcome.code == "agency_exists":
        existing = _existing(ctx, model.inn, outcome.details.get("existing_id"))
        if existing is not None:
            outcome.details["existing"] = existing
            brusnika_id = existing.id
            outcome.message = (
                f"Агентство с ИНН {model.inn} уже зарегистрировано: «{existing.title}» "
                f"({existing.legal_name}), №{existing.id}."
            )
            local.agency_saved(ctx.conn, existing)
        outcome.field_errors = {"inn": "Этот ИНН уже зарегистрирован."}
    ctx.audit("create_agency", payload, outcome, brusnika_id=brusnika_id, idempotency_key=key)
    return outcome


def _existing(ctx: FormContext, inn: str, existing_id: object) -> Agency | None:
    found = call_plain(lambda: ctx.client.search_agencies(inn=inn))
    for agency in found.result or []:
        if existing_id is None or agency.id == existing_id:
            return agency
    return None


def search(ctx: FormContext, query: str) -> Outcome[list[Agency]]:
    """By INN when the query is all digits, by title otherwise."""
    text = (query or "").strip()
    if not text:
        return Outcome(
            ok=False,
            message="Введите ИНН или название.",
            code="invalid",
            field_errors={"query": "Введите ИНН или название."},
        )
    compact = text.replace(" ", "")
    if compact.isdigit():
        try:
            inn = check_inn(compact)
        except InvalidInput as problem:
            return Outcome(
                ok=False, message=str(problem), code="invalid", field_errors={"query": str(problem)}
            )
        outcome = call_plain(lambda: ctx.client.search_agencies(inn=inn))
    else:
        outcome = call_plain(lambda: ctx.client.search_agencies(title=text))
    if outcome.ok and outcome.result is not None:
        for agency in outcome.result:
            local.agency_saved(ctx.conn, agency)
        outcome.message = f"Найдено: {len(outcome.result)}."
    return outcome
