"""Records that break the contract: validated one by one with pydantic, kept aside with the reason.

A rejected record is never dropped: it goes to `rejected_records` at once (auto-committed, so a run
that then fails still shows what was wrong), with the field errors and the item exactly as received.
It is not forgotten either: its entity's stats learn where a REST incremental must resume to fetch it
again (`EntityStats.hold`), and whether its id could be read (a full load needs that to keep the last
good row).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import pyarrow as pa
from pydantic import ValidationError

from kontur.models import feed_item_adapter

from .files import Unparsable
from .types import EntityStats


@dataclass
class Rejected:
    source: str
    record_id: int | None
    raw: str | None
    reason: str


def validation_reason(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        # Drop the discriminator tag ("record"/"tombstone") from the location: it is our wrapper.
        loc = ".".join(str(p) for p in item["loc"] if p not in ("record", "tombstone"))
        parts.append(f"{loc or 'item'}: {item['msg']}")
    return "; ".join(parts)


def timestamp(value: Any) -> datetime | None:
    """An RFC 3339 timestamp with its offset, or None when it cannot be read as one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def read_id(item: Any) -> int | None:
    record_id = item.get("id") if isinstance(item, dict) else None
    return record_id if isinstance(record_id, int) and not isinstance(record_id, bool) else None


def rejection(
    stats: EntityStats, source: str, item: Any, reason: str, *, before: datetime | None = None
) -> Rejected:
    """Reject `item`, noting in `stats` what a later run needs: the stamp from which to fetch it again
    (its own `updated_at`, else `before`: the stamp of the item before it in the feed) and whether its
    id was readable."""
    if read_id(item) is None:
        stats.unreadable_ids += 1
    own = timestamp(item.get("updated_at")) if isinstance(item, dict) else None
    stats.hold(own if own is not None else before)
    return Rejected(
        source=source,
        record_id=read_id(item),
        raw=orjson.dumps(item).decode() if item is not None else None,
        reason=reason,
    )


@dataclass
class Validated:
    """One page checked record by record: the good ones (as the wire shape, with their position) and
    their raw items and sources; the bad ones, rejected."""

    good: list[dict[str, Any]]
    good_raw: list[tuple[str, Any]]
    rejected: list[Rejected]


def validate(entity: str, items: Sequence[Any], sources: Sequence[str], stats: EntityStats) -> Validated:
    adapter = feed_item_adapter(entity)
    out = Validated([], [], [])
    previous: datetime | None = None  # the last readable updated_at before the current item
    for item, source in zip(items, sources, strict=True):
        if isinstance(item, Unparsable):
            out.rejected.append(Rejected(source, None, None, f"not JSON: {item.raw[:200]!r}"))
            continue
        try:
            model = adapter.validate_python(item)
        except ValidationError as exc:
            out.rejected.append(rejection(stats, source, item, validation_reason(exc), before=previous))
        else:
            record = model.to_wire()
            record["_pos"] = len(out.good)
            out.good.append(record)
            out.good_raw.append((source, item))
        stamp = timestamp(item.get("updated_at")) if isinstance(item, dict) else None
        previous = stamp or previous
    return out


def store(cur: Any, run_id: int, entity: str, rejected: Sequence[Rejected]) -> None:
    """Insert the rejects of one page in bulk. A REST page that rejects a record it already rejected
    the same way (a run fetching again from before a rejected record, see `EntityStats.hold`) replaces
    the earlier identical row: the newest sighting is kept, with the run that saw it."""
    if not rejected:
        return
    table = pa.table(
        {
            "run_id": pa.array([run_id] * len(rejected), pa.int64()),
            "entity": pa.array([entity] * len(rejected), pa.string()),
            "source": pa.array([r.source for r in rejected], pa.string()),
            "record_id": pa.array([r.record_id for r in rejected], pa.int64()),
            "raw": pa.array([r.raw for r in rejected], pa.string()),
            "reason": pa.array([r.reason for r in rejected], pa.string()),
        }
    )
    cur.register("_rejected_batch", table)
    try:
        cur.execute(
            "INSERT INTO rejected_records (run_id, entity, source, record_id, raw, reason) "
            "SELECT run_id, entity, source, record_id, raw, reason FROM _rejected_batch"
        )
        if any(r.source.startswith("GET ") for r in rejected):
            cur.execute(
                "DELETE FROM rejected_records o WHERE o.entity = ? AND o.run_id IS DISTINCT FROM ? "
                "AND o.source LIKE 'GET %' AND EXISTS (SELECT 1 FROM _rejected_batch n "
                "WHERE n.source LIKE 'GET %' AND n.record_id IS NOT DISTINCT FROM o.record_id "
                "AND n.reason = o.reason AND n.raw IS NOT DISTINCT FROM o.raw::VARCHAR)",
                [entity, run_id],
            )
    finally:
        cur.unregister("_rejected_batch")
