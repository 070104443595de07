from __future__ import annotations

import datetime as dt

from pydantic import Field

from ._base import HHMM, InboundRecord, PositiveId, WireModel


class TimeSlot(InboundRecord):
    project_id: PositiveId
    date: dt.date
    time: HHMM
    duration_minutes: int = Field(ge=1)
    is_booked: bool


class TimeSlotBookRequest(WireModel):
    agent_id: PositiveId
    client_id: PositiveId
