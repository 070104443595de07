"""What the load path hands back and raises: per-entity figures and the errors of a load."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Mode = Literal["full", "incremental"]
DEFAULT_MAX_REJECTED_SHARE = 0.05


class LoadError(RuntimeError):
    """Staged data cannot be applied (e.g. a page that is not JSON at all)."""


class RejectedShareExceeded(LoadError):
    """Too many records were malformed: the feed looks broken, so nothing is applied."""


class KafkaFedCacheError(LoadError):
    """A full REST load was asked of a cache that the Kafka consumer feeds."""


@dataclass
class EntityStats:
    """What one entity's staging has seen so far in this run."""

    pages: int = 0
    received: int = 0  # items on the wire (records and tombstones)
    staged: int = 0
    rejected: int = 0
    # Where a REST incremental must resume so that every record rejected in this run is fetched
    # again: the oldest `updated_at` known for one of them (its own, else the item before it in the
    # feed, which is ordered by updated_at). `retry_unbounded`: a rejected item with no such stamp at
    # all (its own unreadable and nothing before it on its page): the mark must not move this run.
    retry_from: datetime | None = None
    retry_unbounded: bool = False
    # Rejected items whose `id` could not be read: a full load cannot tell which row they are, so it
    # withholds this entity's snapshot deletions for the run (see kontur.load.apply).
    unreadable_ids: int = 0

    def hold(self, stamp: datetime | None) -> None:
        """A rejected item whose copy must be fetched again; `stamp` bounds its updated_at from below."""
        if stamp is None:
            self.retry_unbounded = True
        elif self.retry_from is None or stamp < self.retry_from:
            self.retry_from = stamp


@dataclass(frozen=True)
class EntityCounts:
    """What `Staging.commit` did to one entity's table."""

    entity: str
    mode: Mode
    pages: int
    received: int
    loaded: int
    deleted: int
    rejected: int
    ignored_older: int
    high_water: datetime | None
    # Said of a successful load that did less than asked (e.g. deletions withheld); None: nothing.
    note: str | None = None
    # Rows a full load kept although the snapshot no longer holds them (see `note`).
    withheld: int = 0
