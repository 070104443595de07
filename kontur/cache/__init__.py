"""The DuckDB cache file (see `core`): its tables (`ddl`), numbered migrations (`migrations`), run
bookkeeping (`runs`) and the one way a transaction is written (`transaction`)."""

from .core import DEFAULT_MEMORY_LIMIT, Cache, CacheLockedError
from .ddl import LOCAL_TABLES
from .migrations import MIGRATIONS
from .runs import EntityState
from .transaction import WriteLock, transaction

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "LOCAL_TABLES",
    "MIGRATIONS",
    "Cache",
    "CacheLockedError",
    "EntityState",
    "WriteLock",
    "transaction",
]
