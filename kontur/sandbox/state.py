"""What one sandbox process holds: the store, the outbound state, the faults and modes, the optional
Kafka publisher and the continuous drift. Routes (app.py, outbound_routes.py, admin_routes.py)
receive it; nothing here imports a route module, so the packages' imports run one way."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from .drift import ContinuousDrift
from .faults import Faults
from .outbound import Outbound
from .store import Store


class Publisher(Protocol):
    def republish(self, entity: str, record_id: int) -> None: ...


@dataclass
class SandboxState:
    store: Store
    token: str
    faults: Faults = field(default_factory=Faults)
    publisher: Publisher | None = None
    outbound: Outbound = field(init=False)
    drift: ContinuousDrift = field(init=False)

    def __post_init__(self) -> None:
        self.outbound = Outbound(self.store)
        self.drift = ContinuousDrift(self.store)
        if self.faults.hostile != self.store.hostile:
            self.set_hostile(self.faults.hostile)

    def reset(self) -> None:
        self.store.reset()
        self.outbound = Outbound(self.store)

    def set_hostile(self, on: bool) -> None:
        self.faults.hostile = on
        self.store.set_hostile(on)
        self.outbound.set_hostile(on)

    def update_faults(self, values: dict[str, Any]) -> None:
        """Apply `/admin/faults` values (ValueError when one is invalid: nothing changes then).
        Hostile mode re-serves what it rewrites; records whose malformation changed are sent to Kafka
        again as they now render (same updated_at), so a consumer sees them break and heal too."""
        before = {e: dict(ids) for e, ids in self.faults.malformed_ids.items()}
        hostile = self.faults.hostile
        self.faults.update(values)
        if self.faults.hostile != hostile:
            self.set_hostile(self.faults.hostile)
        if self.publisher is not None:
            after = self.faults.malformed_ids
            for entity in set(before) | set(after):
                old, new = before.get(entity, {}), after.get(entity, {})
                for record_id in sorted(set(old) | set(new)):
                    if old.get(record_id) != new.get(record_id):
                        self.publisher.republish(entity, record_id)

    def clear_faults(self) -> None:
        """Every fault back to none; hostile mode (a data mode) stays as it is."""
        values = Faults(hostile=self.faults.hostile).as_dict()
        self.update_faults(values)
