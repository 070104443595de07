from __future__ import annotations

from pydantic import Field

from ._base import InboundRecord, PositiveId


class Section(InboundRecord):
    building_id: PositiveId
    number: int = Field(ge=1)
    name: str
    number_of_floors: int = Field(ge=1)
    premises_per_floor: int = Field(ge=1)
