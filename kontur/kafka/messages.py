"""One Kafka message -> one list item for the load path, or the reason it has to be kept aside.

Contract section 6: key = the record's id as a decimal string, value = the record's JSON exactly as a
REST item, or null (a tombstone). A null value carries no `updated_at`, yet the load path needs one
to keep older-never-overwrites-newer; it comes from the `updated_at` header when the producer sets
one (our sandbox does: it is exact to the microsecond), else from the message timestamp (ms).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import overload

import orjson
from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Message

UPDATED_AT_HEADER = "updated_at"


@dataclass(frozen=True)
class Item:
    """A value ready for `Staging.add_items`."""

    value: bytes
    source: str


@dataclass(frozen=True)
class Poison:
    """A message the transport itself cannot use; it goes to `rejected_records` with its reason."""

    source: str
    reason: str
    record_id: int | None = None


def source_of(topic: str, partition: int, offset: int) -> str:
    """How a message is named in `rejected_records.source`: topic, partition and offset."""
    return f"{topic}/{partition}@{offset}"


class MessageSources(Sequence[str]):
    """`source_of` for a batch of one topic's messages, built only for the few that are looked up
    (the load path names an item only when it rejects it): no string per message on the fast path."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.partitions: list[int] = []
        self.offsets: list[int] = []

    def append(self, partition: int, offset: int) -> None:
        self.partitions.append(partition)
        self.offsets.append(offset)

    def __len__(self) -> int:
        return len(self.offsets)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return source_of(self.topic, self.partitions[index], self.offsets[index])


def _record_id(key: bytes | None) -> int | None:
    if key is None:
        return None
    try:
        text = key.decode("ascii")
    except UnicodeDecodeError:
        return None
    if not text.isdigit():
        return None
    value = int(text)
    return value if value >= 1 else None


def _tombstone_time(message: Message) -> str | None:
    for name, raw in message.headers() or ():
        if name == UPDATED_AT_HEADER and raw:
            try:
                stamp = dt.datetime.fromisoformat(raw.decode("ascii"))
            except (UnicodeDecodeError, ValueError):
                return None
            return stamp.isoformat() if stamp.tzinfo is not None else None
    kind, millis = message.timestamp()
    if kind == TIMESTAMP_NOT_AVAILABLE or millis is None or millis < 0:
        return None
    return dt.datetime.fromtimestamp(millis / 1000, dt.UTC).isoformat()


def convert(message: Message) -> Item | Poison:
    """Classify one (error-free) message of one of our topics."""
    topic, partition, offset = message.topic() or "", message.partition() or 0, message.offset() or 0
    source = source_of(topic, partition, offset)
    value = message.value()
    if value is None:
        record_id = _record_id(message.key())
        if record_id is None:
            return Poison(source, f"tombstone (null value) without a usable id key: {message.key()!r:.80}")
        stamp = _tombstone_time(message)
        if stamp is None:
            reason = "tombstone (null value) without a timestamp or updated_at header"
            return Poison(source, reason, record_id)
        return Item(orjson.dumps({"id": record_id, "updated_at": stamp, "deleted": True}), source)
    # The load path stages one value per line, where DuckDB refuses anything but one JSON value (and
    # its per-record fallback then names the bad one); only a blank value would vanish as an empty
    # line, so it is caught here.
    if not value.strip():
        reason = "empty value (neither a record nor a null tombstone)"
        return Poison(source, reason, _record_id(message.key()))
    return Item(value, source)
