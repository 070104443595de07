from __future__ import annotations

from pydantic import Field

from ._base import PositiveId, WireModel


class AgencyCreate(WireModel):
    title: str = Field(min_length=1)
    city_id: PositiveId
    legal_name: str = Field(alias="legalName", min_length=1)
    inn: str = Field(pattern=r"^(\d{10}|\d{12})$")
    phone: str
    email: str
    owner_full_name: str = Field(alias="ownerFullName")
    owner_phone: str = Field(alias="ownerPhone")


class Agency(AgencyCreate):
    id: PositiveId
