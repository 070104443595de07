"""Switchable faults for `/api/v1` (never `/admin` or `/health`), as an outer ASGI wrapper so that
even a dropped connection or a 503 happens before any routing or auth."""

from __future__ import annotations

import asyncio
import random
import zlib
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import orjson

from kontur.models import ENTITIES

API_PREFIX = "/api/v1"


MALFORM_KINDS = ("id", "updated_at", "field", "missing")
# The field `malformed_ids` kind "field" gives a wrong type: a string where the contract wants a number
# (for a city, a latitude that is not decimal degrees).
WRONG_TYPE_FIELD = {
    "cities": "lat",
    "projects": "city_id",
    "buildings": "number_of_floors",
    "sections": "building_id",
    "premises": "price",
    "leads": "client_id",
    "time-slots": "duration_minutes",
}
_SHARES = ("server_error", "rate_limit", "drop", "malformed", "broken_answer")


@dataclass
class Faults:
    server_error: float = 0.0  # share of answers that are 500 or 503
    rate_limit: float = 0.0  # share of answers that are 429
    retry_after: int = 1  # seconds, in the 429's Retry-After header
    latency_ms: int = 0  # added to every answer
    drop: float = 0.0  # share of requests whose connection is closed without an answer
    malformed: float = 0.0  # share of list records rendered broken (deterministic per record)
    # share of successful answers to outbound POST/PUT whose body breaks the contract (the action
    # was done; the answer cannot be read): what a client must not report as "nothing created"
    broken_answer: float = 0.0
    # entity -> record id -> kind (MALFORM_KINDS): exactly these records are served broken, on REST
    # lists and Kafka, until cleared. Their updated_at does not change (see README).
    malformed_ids: dict[str, dict[int, str]] = field(default_factory=dict)
    # Hostile text (hostile.py): a data mode rather than a fault, switched here too; clearing the
    # faults leaves it as it is.
    hostile: bool = False

    def update(self, values: dict[str, Any]) -> None:
        """Set the given faults; nothing changes when one of them is invalid."""
        known = {f.name for f in fields(self)}
        parsed: dict[str, Any] = {}
        for key, value in values.items():
            if key not in known:
                raise ValueError(f"unknown fault {key!r}; known: {', '.join(sorted(known))}")
            if key == "hostile":
                if not isinstance(value, bool):
                    raise ValueError("hostile is true or false")
                parsed[key] = value
            elif key == "malformed_ids":
                parsed[key] = _parse_malformed_ids(value)
            elif key in _SHARES:
                number = float(value)
                if not 0.0 <= number <= 1.0:
                    raise ValueError(f"{key} is a share between 0 and 1")
                parsed[key] = number
            else:
                number = float(value)
                if number < 0:
                    raise ValueError(f"{key} must be >= 0")
                parsed[key] = int(number)
        for key, value in parsed.items():
            setattr(self, key, value)

    def malformed_kind(self, entity: str, record_id: int) -> str | None:
        chosen = self.malformed_ids.get(entity)
        return chosen.get(record_id) if chosen else None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["malformed_ids"] = {
            e: {str(i): k for i, k in ids.items()} for e, ids in self.malformed_ids.items()
        }
        return out


def _parse_malformed_ids(value: Any) -> dict[str, dict[int, str]]:
    if not isinstance(value, dict):
        raise ValueError('malformed_ids is {"<list>": {"<id>": "<kind>"}}')
    out: dict[str, dict[int, str]] = {}
    for entity, chosen in value.items():
        if entity not in ENTITIES:
            raise ValueError(f"malformed_ids: no list {entity!r}; lists: {', '.join(ENTITIES)}")
        if not isinstance(chosen, dict):
            raise ValueError(f"malformed_ids[{entity!r}] maps record ids to kinds")
        ids: dict[int, str] = {}
        for raw_id, kind in chosen.items():
            try:
                record_id = int(raw_id)
            except (TypeError, ValueError):
                raise ValueError(f"malformed_ids[{entity!r}]: {raw_id!r} is not a record id") from None
            if record_id < 1:
                raise ValueError(f"malformed_ids[{entity!r}]: {raw_id!r} is not a record id")
            if kind not in MALFORM_KINDS:
                raise ValueError(f"malformed_ids: kind {kind!r}; kinds: {', '.join(MALFORM_KINDS)}")
            ids[record_id] = kind
        if ids:
            out[entity] = ids
    return out


def is_malformed(entity: str, record_id: int, share: float, seed: int) -> bool:
    """Stable per (entity, id): refetching a page breaks the same records again."""
    if share <= 0:
        return False
    key = f"{seed}:{entity}:{record_id}".encode()
    return zlib.crc32(key) / 0xFFFFFFFF < share


def malform(body: bytes, record_id: int, kind: str | None = None, entity: str | None = None) -> bytes:
    """A record broken in the given way (default: a kind varied by id): `id` a string, `updated_at`
    not a timestamp, `field` a string where a number belongs, `missing` a required field dropped."""
    record = orjson.loads(body)
    if kind is None:
        kind = ("id", "updated_at", "missing")[record_id % 3]
    own = [k for k in record if k not in ("id", "updated_at", "deleted")]
    if kind in ("field", "missing") and (record.get("deleted") or not own):
        kind = "updated_at"  # a tombstone has no field of its own to break
    if kind == "id":
        record["id"] = f"id-{record_id}"  # string where an int belongs
    elif kind == "updated_at":
        record["updated_at"] = "not a timestamp"
    elif kind == "field":
        record[WRONG_TYPE_FIELD.get(entity or "", own[0])] = "not a number"
    else:
        del record[own[0]]  # a missing required field
    return bytes(bytearray(orjson.dumps(record)))  # exact size (see render.compact)


def as_served(faults: Faults, seed: int, entity: str, record_id: int, body: bytes) -> bytes:
    """A record as the lists and the Kafka publisher serve it: broken when chosen by `malformed_ids`
    or by the `malformed` share, else as it is."""
    kind = faults.malformed_kind(entity, record_id)
    if kind is not None:
        return malform(body, record_id, kind, entity)
    if is_malformed(entity, record_id, faults.malformed, seed):
        return malform(body, record_id)
    return body


def _error(status: int, code: str, message: str) -> bytes:
    return orjson.dumps({"error": {"code": code, "message": message, "details": {}}})


class FaultMiddleware:
    def __init__(self, app: Any, faults: Faults, rng: random.Random) -> None:
        self.app, self.faults, self.rng = app, faults, rng

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        f = self.faults
        if f.latency_ms:
            await asyncio.sleep(f.latency_ms / 1000)
        roll = self.rng.random()
        if roll < f.drop and _drop(receive):
            return
        roll -= f.drop
        if roll < f.server_error:
            status = self.rng.choice((500, 503))
            await _send(send, status, _error(status, "unavailable", "injected server error"), [])
            return
        roll -= f.server_error
        if roll < f.rate_limit:
            body = _error(429, "rate_limited", "too many requests, retry later")
            await _send(send, 429, body, [(b"retry-after", str(f.retry_after).encode())])
            return
        if scope["method"] in ("POST", "PUT") and self.rng.random() < f.broken_answer:
            await self.app(scope, receive, _breaking_success(send))
            return
        await self.app(scope, receive, send)


def _breaking_success(send: Any) -> Any:
    """A `send` that lets the app do its work but replaces a 2xx answer's body with one missing the
    record's `id` (so it no longer matches the contract's schema); other answers pass unchanged."""
    held: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def breaking(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
            held["start"] = message
            return
        if "start" not in held:
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        try:
            record = orjson.loads(b"".join(chunks))
            record.pop("id", None)
            body = orjson.dumps(record)
        except (orjson.JSONDecodeError, AttributeError):
            body = b"{"
        start = held["start"]
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return breaking


def _drop(receive: Any) -> bool:
    """Close the socket with no answer. uvicorn's `receive` is a bound method of its request cycle,
    which holds the transport; marking the cycle disconnected stops uvicorn answering 500."""
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        return False
    transport.close()
    cycle.disconnected = True
    return True


async def _send(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
