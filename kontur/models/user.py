from __future__ import annotations

import datetime as dt

from pydantic import Field

from ._base import PositiveId, WireModel
from .enums import UserRole, UserStatus


class User(WireModel):
    id: PositiveId
    last_name: str = Field(alias="lastName")
    first_name: str = Field(alias="firstName")
    phone: str
    email: str
    status: UserStatus
    role: UserRole
    temporary_role: UserRole | None = None
    city_id: PositiveId | None = None
    birth_date: dt.date | None = Field(default=None, alias="birthDate")
    agency_id: PositiveId | None = None
    work_start_date: dt.date | None = Field(default=None, alias="workStartDate")
    avatar: str | None = None
    remaining_user_creation_limit: int = Field(default=0, ge=0)

    @property
    def display_name(self) -> str:
        return f"{self.last_name} {self.first_name}"
