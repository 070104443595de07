"""Agencies: search by INN or title, create with a local INN check, show the one that already exists."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kontur.auth.actor import acting_refusal
from kontur.auth.behalf import Acting
from kontur.auth.policy import Action
from kontur.models import Agency, AgencyCreate

from . import flow, local
from .context import FormContext
from .rules import FieldChecker, check_email, check_inn, check_required, normalize_phone
from .submit import Outcome, call_plain

FORM = "agency"

log = logging.getLogger(__name__)


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
    typed = values.__dict__
    if (
        stop := flow.guard(
            ctx,
            "create_agency",
            typed,
            # An agency belongs to no agent: whoever registers it acts for themself.
            acting=Acting(ctx.actor, ctx.actor),
            refusal_of=acting_refusal,
            refusal_code="actor_cannot_act",
            permission=Action.CREATE_AGENCY,
        )
    ) is not None:
        return stop
    recorded_by = None if ctx.actor is None else ctx.actor.id
    model, problems = validate(values)
    if model is None:
        return flow.invalid(ctx, "create_agency", typed, problems)

    def refused(outcome: Outcome[Agency]) -> None:
        if outcome.code != "agency_exists":
            return
        existing = _existing(ctx, model.inn, outcome.details.get("existing_id"))
        if existing is not None:
            outcome.details["existing"] = existing  # the page shows its card; the audit its id
            outcome.message = (
                f"Агентство с ИНН {model.inn} уже зарегистрировано: «{existing.title}» "
                f"({existing.legal_name}), №{existing.id}."
            )
            _save(ctx, [existing])
        outcome.field_errors = {"inn": "Этот ИНН уже зарегистрирован."}

    return flow.send(
        ctx,
        "create_agency",
        FORM,
        model.to_wire(),
        lambda k: ctx.client.create_agency(model, idempotency_key=k),
        success_message="Агентство зарегистрировано.",
        record=lambda tx, agency: local.agencies_saved(tx, [agency], recorded_by=recorded_by),
        announce=lambda agency: f"Агентство «{agency.title}» зарегистрировано (№{agency.id}).",
        on_refused=refused,
    )


def _existing(ctx: FormContext, inn: str, existing_id: object) -> Agency | None:
    found = call_plain(lambda: ctx.client.search_agencies(inn=inn))
    for agency in found.result or []:
        if existing_id is None or agency.id == existing_id:
            return agency
    return None


def search(ctx: FormContext, query: str) -> Outcome[list[Agency]]:
    """By INN when the query is all digits (checked first: a wrong INN finds nothing), by title
    otherwise."""

    def choose(text: str) -> Callable[[], list[Agency]]:
        compact = text.replace(" ", "")
        if compact.isdigit():
            inn = check_inn(compact)
            return lambda: ctx.client.search_agencies(inn=inn)
        return lambda: ctx.client.search_agencies(title=text)

    return flow.search(
        query,
        empty_message="Введите ИНН или название.",
        choose=choose,
        save=lambda found: _save(ctx, found),
    )


def _save(ctx: FormContext, found: Sequence[Agency]) -> None:
    """Agencies Brusnika named (found, or the one already registered), kept in the store."""
    try:
        with ctx.store.write() as tx:
            local.agencies_saved(tx, found, recorded_by=None if ctx.actor is None else ctx.actor.id)
    except Exception:
        log.exception("agencies not recorded in the store")
