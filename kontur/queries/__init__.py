"""Every SQL query the dashboard pages run, parameterised, grouped by page.

Functions take a DuckDB cursor first and return DataFrames or small dataclasses; pages call them
through `st.cache_data` wrappers keyed by the cache's data version.
"""

from __future__ import annotations

from . import availability, chessboard, leads, scope, sync_health
from .filters import STATUSES, Filters, LeadFilters, PremiseFilters

__all__ = [
    "STATUSES",
    "Filters",
    "LeadFilters",
    "PremiseFilters",
    "availability",
    "chessboard",
    "leads",
    "scope",
    "sync_health",
]
