"""Request bodies the client tests send to the sandbox, built from its records (a booking of a free
premise, an agency with a given INN), and a token the sandbox never accepts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kontur.models import AgencyCreate, BookingCreate, PurchaseOption

BAD_TOKEN = "definitely-not-the-token-5d41402a"


def booking_for(premise: dict[str, Any], client_id: int, agent_id: int) -> BookingCreate:
    return BookingCreate(
        premise_id=premise["id"], client_id=client_id, agent_id=agent_id, date=dt.date.today(),
        time="12:00", purchase_option=PurchaseOption(premise["purchase_option"][0]),
    )  # fmt: skip


def agency_request(city_id: int, inn: str, title: str = "Агентство Конфликт") -> AgencyCreate:
    return AgencyCreate(
        title=title, city_id=city_id, legal_name="ООО «Конфликт»", inn=inn, phone="+73432000001",
        email="c@agency.example", owner_full_name="Сидоров Сидор", owner_phone="+79991110000",
    )  # fmt: skip
