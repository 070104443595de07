"""A batch of the Kafka consumer's, made by hand: records committed as a backlog's batch commits them
(summaries not maintained, only marked stale), for tests of what readers do meanwhile."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from kontur.cache import Cache
from kontur.load import Staging


@contextmanager
def deferring_batch(cache: Cache, entity: str, record: dict[str, Any]) -> Iterator[Staging]:
    """Commit `record` (as on the wire) of `entity` as one deferring Kafka batch; the staging stays
    open inside the block (its `refresh_summaries()` is the consumer's once caught up)."""
    staging = Staging(cache, cache.start_run("kafka", "incremental"))
    try:
        staging.add_records(entity, [orjson.dumps(record)], [f"brusnika.{entity}/0@999999"])
        counts = staging.commit({entity: "incremental"}, finish_run=False, maintain_summaries=False)
        assert counts[entity].loaded == 1
        yield staging
    finally:
        staging.close()
