"""Ground truth from the sandbox's admin API, for the form tests' assertions."""

from __future__ import annotations

from typing import Any

from kontur.sandbox.server import RunningSandbox


def records(sandbox: RunningSandbox, entity: str) -> dict[int, dict[str, Any]]:
    """Every live record of an inbound list, by id, as the sandbox holds it now."""
    with sandbox.admin() as admin:
        return {r["id"]: r for r in admin.records(entity)}


def outbound_count(sandbox: RunningSandbox, kind: str) -> int:
    """How many bookings / visits / agencies / clients the sandbox has created (it counts, not lists)."""
    with sandbox.admin() as admin:
        return int(admin.stats()["outbound"][kind])
