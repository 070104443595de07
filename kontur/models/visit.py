from __future__ import annotations

import datetime as dt

from pydantic import AwareDatetime

from ._base import HHMM, PositiveId, WireModel
from .enums import RequestStatus


class VisitCreate(WireModel):
    project_id: PositiveId
    agent_id: PositiveId
    client_id: PositiveId
    date: dt.date
    time: HHMM
    time_slot_id: PositiveId | None = None


class Visit(VisitCreate):
    id: PositiveId
    request_date: AwareDatetime | None = None
    request_time: AwareDatetime | None = None
    status: RequestStatus
