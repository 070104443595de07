"""Topic names of contract section 6: one topic per inbound list, `brusnika.<entity>`."""

from __future__ import annotations

from kontur.models import ENTITIES
from kontur.schema import TOPIC_PREFIX

# entity (REST path segment) -> topic, in load order; and back.
TOPICS: dict[str, str] = {entity: TOPIC_PREFIX + entity for entity in ENTITIES}
ENTITY_OF_TOPIC: dict[str, str] = {topic: entity for entity, topic in TOPICS.items()}


def entity_for(topic: str) -> str | None:
    """The entity a topic carries, or None for a topic that is not one of ours."""
    return ENTITY_OF_TOPIC.get(topic)
