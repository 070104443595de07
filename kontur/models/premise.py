from __future__ import annotations

from pydantic import Field

from ._base import InboundRecord, PositiveId
from .enums import Feature, PremiseType, PurchaseOption


class Premise(InboundRecord):
    project_id: PositiveId
    building_id: PositiveId
    section_id: PositiveId
    number: str
    type: PremiseType
    rooms: int = Field(ge=0)
    size: float = Field(ge=0)  # m²; the contract types it as a number: 0 is allowed, negative is not
    price: int = Field(ge=0)
    floor: int
    feature: list[Feature]
    photos: list[str]
    is_booked: bool
    purchase_option: list[PurchaseOption]
    is_sold: bool
