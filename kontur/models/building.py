from __future__ import annotations

from pydantic import Field

from ._base import InboundRecord, PositiveId, WholeNumberString


class Building(InboundRecord):
    project_id: PositiveId
    address: str
    number_of_floors: int = Field(ge=1)
    brief_description: str
    detailed_description: str
    # Counts of free premises by type, as strings: the specification types them so.
    total_apartment: WholeNumberString
    total_parking_space: WholeNumberString
    total_storage: WholeNumberString
    total_commercial: WholeNumberString
