"""Admin API for the sandbox's clients (`POST /admin/clients`, `PATCH /admin/clients/{id}`): a client
with a given agent, fixing and expiry, or a change of fixing/expiry, as Brusnika would decide them.
Such clients are found by `/clients/search` (phone or name) and count in the fixing decision of
`POST /clients` like any other."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from kontur.models import Client, FixingType
from kontur.models._base import PositiveId
from kontur.models.client import PHONE_PATTERN

from . import render
from .errors import ApiError, field_error
from .outbound import Outbound

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class AdminClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent_id: PositiveId
    fixing_type: FixingType
    expiration_date: AwareDatetime | None = None
    fullname: str | None = Field(default=None, min_length=1)
    phone_number: str | None = Field(default=None, pattern=PHONE_PATTERN)
    comment: str = ""
    actived_date: AwareDatetime | None = None
    fixing_type_updated_at: AwareDatetime | None = None


class AdminClientUpdate(BaseModel):
    """Only the fields sent change (`expiration_date: null` clears the expiry)."""

    model_config = ConfigDict(extra="forbid")
    agent_id: PositiveId | None = None
    fixing_type: FixingType | None = None
    expiration_date: AwareDatetime | None = None
    fullname: str | None = Field(default=None, min_length=1)
    comment: str | None = None
    actived_date: AwareDatetime | None = None
    fixing_type_updated_at: AwareDatetime | None = None


def _ts(value: dt.datetime | int | None) -> str | None:
    """A timestamp as the sandbox serves them (UTC, `Z`); ints are sandbox clock ticks (µs)."""
    if value is None:
        return None
    us = value if isinstance(value, int) else (value - _EPOCH) // dt.timedelta(microseconds=1)
    return render.ts_string(us)


def _checked(wire: dict[str, Any]) -> dict[str, Any]:
    """The client as the contract's Client model reads it: the admin API never serves a broken one."""
    return Client.model_validate(wire).to_wire()


def create(outbound: Outbound, request: AdminClientCreate) -> dict[str, Any]:
    if request.agent_id not in outbound.users:
        raise ApiError(
            404,
            "not_found",
            f"no user with id {request.agent_id}",
            {"resource": "user", "id": request.agent_id},
        )
    now = outbound.store.tick()
    client_id = outbound.n_seeded_clients + len(outbound.clients) + 1
    # Generated clients' phones all start +79: +770… never collides with one of them.
    phone = request.phone_number or f"+770{client_id % 10**8:08d}"
    refused = request.fixing_type == FixingType.REFUSED
    wire = _checked(
        {
            "id": client_id,
            "fullname": request.fullname or f"Клиентов Тест {client_id}",
            "phone_number": phone,
            "comment": request.comment,
            "agent_id": request.agent_id,
            "actived_date": _ts(request.actived_date) if request.actived_date or refused else _ts(now),
            "fixing_type_updated_at": _ts(request.fixing_type_updated_at or now),
            "expiration_date": _ts(request.expiration_date),
            "fixing_type": request.fixing_type.value,
        }
    )
    outbound.clients[client_id] = wire
    outbound.phone_index.setdefault(phone, []).append(client_id)
    return wire


def update(outbound: Outbound, client_id: int, request: AdminClientUpdate) -> dict[str, Any]:
    current = outbound.client(client_id)
    if current is None:
        raise ApiError(
            404, "not_found", f"no client with id {client_id}", {"resource": "client", "id": client_id}
        )
    sent = request.model_fields_set
    for name in ("agent_id", "fixing_type", "fullname", "comment"):
        if name in sent and getattr(request, name) is None:
            raise field_error(name, "may not be null")
    if request.agent_id is not None and request.agent_id not in outbound.users:
        raise ApiError(
            404,
            "not_found",
            f"no user with id {request.agent_id}",
            {"resource": "user", "id": request.agent_id},
        )
    changes: dict[str, Any] = {}
    for name in ("agent_id", "fullname", "comment"):
        if name in sent:
            changes[name] = getattr(request, name)
    for name in ("expiration_date", "actived_date", "fixing_type_updated_at"):
        if name in sent:
            changes[name] = _ts(getattr(request, name))
    if request.fixing_type is not None:
        changes["fixing_type"] = request.fixing_type.value
        if "fixing_type_updated_at" not in sent:
            changes["fixing_type_updated_at"] = _ts(outbound.store.tick())
    wire = _checked({**current, **changes})
    if client_id in outbound.clients:
        outbound.clients[client_id] = wire
    else:
        outbound.client_overrides.setdefault(client_id, {}).update(changes)
    return wire
