from __future__ import annotations

from pydantic import AwareDatetime, Field

from ._base import PositiveId, WireModel
from .enums import FixingType

PHONE_PATTERN = r"^\+7\d{10}$"


class ClientCreate(WireModel):
    fullname: str = Field(min_length=1)
    phone_number: str = Field(pattern=PHONE_PATTERN)
    comment: str = ""
    agent_id: PositiveId


class Client(ClientCreate):
    id: PositiveId
    actived_date: AwareDatetime | None = None
    fixing_type_updated_at: AwareDatetime | None = None
    expiration_date: AwareDatetime | None = None
    fixing_type: FixingType
