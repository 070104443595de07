"""Response shapes published in the sandbox's OpenAPI document (the list endpoints answer raw bytes,
so these models only describe what is sent; the wire models in `kontur.models` do the rest)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, create_model

from kontur.models import INBOUND_MODELS, Agency, Client
from kontur.models._base import PositiveId


class TombstoneOut(BaseModel):
    """A withdrawn record: `deleted` is always true, so it never matches a live record's schema."""

    id: PositiveId
    updated_at: AwareDatetime
    deleted: Literal[True]


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: dict[str, Any] | list[Any]


class ErrorBody(BaseModel):
    """Contract section 7: the body of every non-2xx answer."""

    error: ErrorInfo


class AgencyList(BaseModel):
    items: list[Agency]


class ClientList(BaseModel):
    items: list[Client]


class DriftRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    changes: int = Field(ge=0, le=1_000_000)
    seed: int | None = None


def page_model(entity: str) -> type[BaseModel]:
    model = INBOUND_MODELS[entity]
    return create_model(
        f"{model.__name__}Page",
        items=(list[model | TombstoneOut], ...),  # type: ignore[valid-type]
        next_cursor=(str | None, ...),
    )


_DESCRIPTIONS = {
    400: "bad_request: the request is malformed (limit, updated_since, cursor, query)",
    401: "unauthorized: missing or wrong bearer token",
    404: "not_found: unknown id",
    409: "conflict: see the code",
    422: "validation_error (details: [{field, message}]) or idempotency_key_reused",
    429: "rate_limited; header Retry-After (seconds)",
    500: "server error (injected fault)",
    503: "unavailable (injected fault)",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers an operation can give (always 401, 429, 500, 503)."""
    wanted = sorted({401, 429, 500, 503, *statuses})
    out: dict[int | str, dict[str, Any]] = {}
    for status in wanted:
        entry: dict[str, Any] = {"model": ErrorBody, "description": _DESCRIPTIONS[status]}
        if status == 429:
            entry["headers"] = {
                "Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}
            }
        out[status] = entry
    return out
