"""Wire models of the Brusnika contract (section 4), one module per resource."""

from __future__ import annotations

from ._base import InboundRecord, Tombstone, WireModel
from .agency import Agency, AgencyCreate
from .booking import Booking, BookingCreate
from .building import Building
from .city import City
from .client import Client, ClientCreate
from .enums import (
    FUNNEL_STAGES,
    OUTCOME_STAGES,
    Feature,
    FixingType,
    LeadStage,
    LeadState,
    PremiseType,
    PurchaseOption,
    RequestStatus,
    UserRole,
    UserStatus,
)
from .feed import ENTITIES, INBOUND_MODELS, feed_item_adapter, feed_item_type
from .lead import Lead
from .premise import Premise
from .project import Project
from .section import Section
from .time_slot import TimeSlot, TimeSlotBookRequest
from .user import User
from .visit import Visit, VisitCreate

__all__ = [
    "ENTITIES",
    "FUNNEL_STAGES",
    "INBOUND_MODELS",
    "OUTCOME_STAGES",
    "Agency",
    "AgencyCreate",
    "Booking",
    "BookingCreate",
    "Building",
    "City",
    "Client",
    "ClientCreate",
    "Feature",
    "FixingType",
    "InboundRecord",
    "Lead",
    "LeadStage",
    "LeadState",
    "Premise",
    "PremiseType",
    "Project",
    "PurchaseOption",
    "RequestStatus",
    "Section",
    "TimeSlot",
    "TimeSlotBookRequest",
    "Tombstone",
    "User",
    "UserRole",
    "UserStatus",
    "Visit",
    "VisitCreate",
    "WireModel",
    "feed_item_adapter",
    "feed_item_type",
]
