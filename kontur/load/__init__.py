"""The one load path (REST sync and Kafka consumer): stage inbound records, check them, apply them to
the cache atomically. `staging.Staging` is the entry point; `files` (page and batch files),
`parse` (DuckDB read_json + SQL checks into temp tables), `rejects` (per-record pydantic checks,
rejected_records), `apply` (one entity's table in the load transaction, the REST high-water mark),
`summaries` (the lead summary tables kept exact in the same transaction), `types`."""

from .apply import kafka_groups, refuse_full_if_kafka_fed
from .files import items_array
from .staging import Staging
from .summaries import refresh_in_transaction as refresh_summaries
from .types import (
    DEFAULT_MAX_REJECTED_SHARE,
    EntityCounts,
    EntityStats,
    KafkaFedCacheError,
    LoadError,
    Mode,
    RejectedShareExceeded,
)

__all__ = [
    "DEFAULT_MAX_REJECTED_SHARE",
    "EntityCounts",
    "EntityStats",
    "KafkaFedCacheError",
    "LoadError",
    "Mode",
    "RejectedShareExceeded",
    "Staging",
    "items_array",
    "kafka_groups",
    "refresh_summaries",
    "refuse_full_if_kafka_fed",
]
