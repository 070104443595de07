"""Switchable faults for `/api/v1` (never `/admin` or `/health`), as an outer ASGI wrapper so that
even a dropped connection or a 503 happens before any routing or auth."""

from __future__ import annotations

import asyncio
import random
import zlib
from dataclasses import asdict, dataclass, fields
from typing import Any

import orjson

API_PREFIX = "/api/v1"


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

    def update(self, values: dict[str, Any]) -> None:
        known = {f.name: f.type for f in fields(self)}
        for key, value in values.items():
            if key not in known:
                raise ValueError(f"unknown fault {key!r}; known: {', '.join(known)}")
            number = float(value)
            if key in ("retry_after", "latency_ms"):
                if number < 0:
                    raise ValueError(f"{key} must be >= 0")
                setattr(self, key, int(number))
            else:
                if not 0.0 <= number <= 1.0:
                    raise ValueError(f"{key} is a share between 0 and 1")
                setattr(self, key, number)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_malformed(entity: str, record_id: int, share: float, seed: int) -> bool:
    """Stable per (entity, id): refetching a page breaks the same records again."""
    if share <= 0:
        return False
    key = f"{seed}:{entity}:{record_id}".encode()
    return zlib.crc32(key) / 0xFFFFFFFF < share


def malform(body: bytes, record_id: int) -> bytes:
    """A record with a wrong type or a missing field, varied by id."""
    record = orjson.loads(body)
    kind = record_id % 3
    if kind == 0:
        record["id"] = f"id-{record_id}"  # string where an int belongs
    elif kind == 1:
        record["updated_at"] = "not a timestamp"
    else:
        # Drop the record's first own field (after the common ones): a missing required field.
        own = [k for k in record if k not in ("id", "updated_at", "deleted")]
        if own:
            del record[own[0]]
        else:
            record["updated_at"] = 12345
    return bytes(bytearray(orjson.dumps(record)))  # exact size (see render.compact)


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
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        *headers]})
    await send({"type": "http.response.body", "body": body})
