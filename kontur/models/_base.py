"""Shared base classes for wire models.

Every model tolerates unknown fields (Brusnika may add some) and serialises by alias, so
`model_dump(by_alias=True)` is exactly the wire shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

# "HH:mm", 00:00–23:59: the contract's time-of-day strings.
HHMM = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
# Decimal degrees kept as strings on the wire (city `long`/`lat`).
DecimalString = Annotated[str, StringConstraints(pattern=r"^-?\d{1,3}(\.\d+)?$")]
# Whole numbers kept as strings on the wire (building `total_*`).
WholeNumberString = Annotated[str, StringConstraints(pattern=r"^\d+$")]
PositiveId = Annotated[int, Field(ge=1)]


class WireModel(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        serialize_by_alias=True,
        validate_by_alias=True,
        validate_by_name=True,
        use_enum_values=False,
    )

    def to_wire(self) -> dict:
        """The JSON-ready dict exactly as it travels on the wire."""
        return self.model_dump(mode="json", by_alias=True)


class InboundRecord(WireModel):
    """Fields every inbound record carries (contract section 2)."""

    id: PositiveId
    updated_at: AwareDatetime
    deleted: bool = False


class Tombstone(WireModel):
    """A withdrawn record: only `id` and `updated_at` are guaranteed."""

    id: PositiveId
    updated_at: AwareDatetime
    deleted: bool = True


def utc_iso(value: datetime) -> str:
    """RFC 3339 with offset, as the wire carries timestamps."""
    return value.isoformat()
