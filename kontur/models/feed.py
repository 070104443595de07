"""Which record model each inbound entity has, and the feed item (record or tombstone) of each."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Discriminator, Tag, TypeAdapter

from ._base import InboundRecord, Tombstone
from .building import Building
from .city import City
from .lead import Lead
from .premise import Premise
from .project import Project
from .section import Section
from .time_slot import TimeSlot

# Inbound entity name (also the REST path segment) -> its record model, in load order
# (parents before children).
INBOUND_MODELS: dict[str, type[InboundRecord]] = {
    "cities": City,
    "projects": Project,
    "buildings": Building,
    "sections": Section,
    "premises": Premise,
    "leads": Lead,
    "time-slots": TimeSlot,
}
ENTITIES: tuple[str, ...] = tuple(INBOUND_MODELS)


def _is_tombstone(value: Any) -> str:
    deleted = value.get("deleted") if isinstance(value, dict) else getattr(value, "deleted", False)
    return "tombstone" if deleted is True else "record"


def feed_item_type(entity: str) -> Any:
    """The type of one list item of `entity`: a live record or a tombstone."""
    model = INBOUND_MODELS[entity]
    return Annotated[
        Annotated[model, Tag("record")] | Annotated[Tombstone, Tag("tombstone")],
        Discriminator(_is_tombstone),
    ]


_ADAPTERS: dict[str, TypeAdapter[Any]] = {}


def feed_item_adapter(entity: str) -> TypeAdapter[Any]:
    """Cached TypeAdapter for one list item of `entity` (building one is not free)."""
    adapter = _ADAPTERS.get(entity)
    if adapter is None:
        adapter = _ADAPTERS[entity] = TypeAdapter(feed_item_type(entity))
    return adapter
