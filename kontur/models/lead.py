from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime

from ._base import InboundRecord, PositiveId
from .enums import LeadStage, LeadState


class Lead(InboundRecord):
    client_id: PositiveId
    project_id: PositiveId
    premise_id: PositiveId | None
    state: LeadState
    current_status: LeadStage
    sign_nps_passed: bool
    fee: float
    start_date: date
    status_updated_at: AwareDatetime
    agent_id: PositiveId
    manager_id: PositiveId | None
