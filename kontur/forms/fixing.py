"""Brusnika's fixing decision, enforced here before anything is sent: a booking, a visit or a slot
for a client whose fixing was refused, or has expired, is refused with the reason.

The fixing belongs to one agent (the client's `agent_id`): it is checked for the agent acted for, so
a manager booking for an agent may book only that agent's clients.

Why here and not only at Brusnika: the contract does not say Brusnika refuses such requests, and a
client that is not fixed to the agent is not theirs to work (another agent holds the phone). The
check reads the client as stored here (created or found through Kontur); a client never seen here
cannot be checked, so it is refused with what to do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kontur.models import FixingType

FIXING_REFUSED = "fixing_refused"
FIXING_EXPIRED = "fixing_expired"
FIXING_OTHER_AGENT = "fixing_other_agent"
CLIENT_UNKNOWN = "client_unknown"


@dataclass(frozen=True)
class FixingProblem:
    code: str
    message: str


def fixing_problem(
    client: Mapping[str, Any] | None, client_id: int, *, now: dt.datetime, agent_id: int | None = None
) -> FixingProblem | None:
    """Why nothing may be booked or shown for this client now for the agent `agent_id` (`client` as
    stored in Kontur, None when unknown here), or None when its fixing holds for that agent."""
    if client is None:
        return FixingProblem(
            CLIENT_UNKNOWN,
            f"Клиент №{client_id} не найден в Контуре, поэтому его закрепление не проверить. "
            "Найдите клиента через поиск (телефон или ФИО) и повторите. Ничего не отправлено.",
        )
    if client.get("fixing_type") == FixingType.REFUSED:
        return FixingProblem(
            FIXING_REFUSED,
            "Брусника отказала в закреплении этого клиента (телефон принадлежит клиенту другого агента "
            "с действующим закреплением): бронировать и назначать показы для него нельзя. "
            "Ничего не отправлено.",
        )
    holder = client.get("agent_id")
    if agent_id is not None and holder is not None and int(holder) != int(agent_id):
        return FixingProblem(
            FIXING_OTHER_AGENT,
            f"Клиент №{client_id} закреплён за другим агентом (№{holder}), а не за агентом №{agent_id}, "
            "от имени которого вы действуете: бронировать и назначать показы для него от этого имени "
            "нельзя. Выберите агента, за которым закреплён клиент. Ничего не отправлено.",
        )
    expires = client.get("expiration_date")
    if isinstance(expires, dt.datetime):
        moment = now if now.tzinfo is not None else now.astimezone()
        ends = expires if expires.tzinfo is not None else expires.replace(tzinfo=dt.UTC)
        if ends <= moment:
            return FixingProblem(
                FIXING_EXPIRED,
                f"Закрепление клиента истекло {ends.astimezone():%d.%m.%Y %H:%M}: бронировать и назначать "
                "показы для него нельзя, пока Брусника не закрепит его снова (найдите клиента через "
                "поиск, чтобы обновить данные). Ничего не отправлено.",
            )
    return None
