from __future__ import annotations

import datetime as dt

from ._base import HHMM, PositiveId, WireModel
from .enums import PurchaseOption, RequestStatus


class BookingCreate(WireModel):
    premise_id: PositiveId
    client_id: PositiveId
    agent_id: PositiveId
    date: dt.date
    time: HHMM
    purchase_option: PurchaseOption


class Booking(BookingCreate):
    id: PositiveId
    status: RequestStatus
