"""The sandbox's FastAPI application: the contract's list endpoints, health, the admin API, and
(in `outbound_routes`) the outbound methods. Faults wrap the whole app (see `faults.py`)."""

from __future__ import annotations

import datetime as dt
import hmac
import random
from dataclasses import dataclass, field
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Depends, FastAPI, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.responses import JSONResponse, Response

from kontur.models import ENTITIES

from . import drift, errors, render, schemas
from .errors import ApiError
from .faults import FaultMiddleware, Faults, is_malformed, malform
from .feed import BadCursor
from .outbound import Outbound
from .store import Store


class JSONBytes(JSONResponse):
    """Pre-rendered JSON passed through as is (a JSONResponse so OpenAPI documents it as JSON)."""

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else super().render(content)


@dataclass
class SandboxState:
    store: Store
    token: str
    faults: Faults = field(default_factory=Faults)
    outbound: Outbound = field(init=False)

    def __post_init__(self) -> None:
        self.outbound = Outbound(self.store)

    def reset(self) -> None:
        self.store.reset()
        self.outbound = Outbound(self.store)


_bearer = HTTPBearer(auto_error=False, description="Brusnika API token")


def parse_since(raw: str | None) -> int | None:
    """RFC 3339 with an offset -> µs since the epoch. A '+' sent unencoded arrives as a space."""
    if raw is None:
        return None
    text = raw.strip()
    if " " in text and "T" in text:
        text = text.replace(" ", "+")
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise ApiError(400, "bad_request", "updated_since must be an RFC 3339 timestamp",
                       [{"field": "updated_since", "message": "not an RFC 3339 timestamp"}]) from exc
    if value.tzinfo is None:
        raise ApiError(400, "bad_request", "updated_since needs a UTC offset",
                       [{"field": "updated_since", "message": "timestamp without offset"}])
    return (value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def build_app(state: SandboxState) -> Any:
    """The ASGI app to serve: FastAPI wrapped in the fault injector."""
    app = FastAPI(
        title="Brusnika sandbox", version="1.0",
        description="Kontur's sandbox of Brusnika's REST API (contract: brusnika-api.md).",
        docs_url=None, redoc_url=None,
    )
    app.state.sandbox = state
    errors.install(app)

    def require_token(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        given = credentials.credentials if credentials is not None else ""
        if not hmac.compare_digest(given.encode(), state.token.encode()):
            raise ApiError(401, "unauthorized", "missing or wrong bearer token")

    api = APIRouter(prefix="/api/v1", dependencies=[Depends(require_token)])
    for entity in ENTITIES:
        _add_list_route(api, state, entity)
    from .outbound_routes import add_outbound_routes

    add_outbound_routes(api, state)
    app.include_router(api)

    @app.get("/health", tags=["sandbox"], response_model=dict[str, str])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(_admin_router(state, require_token))
    from .media import add_media_routes

    add_media_routes(app, state)  # unauthenticated pictures at /media/... (see media.py)
    return FaultMiddleware(app, state.faults, random.Random())


def _add_list_route(api: APIRouter, state: SandboxState, entity: str) -> None:
    async def list_records(
        limit: Annotated[int, Query(ge=1, le=1000, description="page size")] = 500,
        cursor: Annotated[str | None, Query(min_length=1, max_length=200,
                                            description="next_cursor of the previous page")] = None,
        updated_since: Annotated[str | None, Query(
            description="RFC 3339; only records updated strictly later, tombstones included",
            json_schema_extra={"format": "date-time"})] = None,
    ) -> Response:
        since = parse_since(updated_since)
        store = state.store
        try:
            items, ids, next_cursor = store.page(entity, limit, cursor, since)
        except BadCursor as exc:
            raise ApiError(400, "bad_request", str(exc),
                           [{"field": "cursor", "message": str(exc)}]) from exc
        share = state.faults.malformed
        if share > 0:
            items = [malform(body, rid) if is_malformed(entity, rid, share, store.seed) else body
                     for body, rid in zip(items, ids, strict=True)]
        return JSONBytes(render.page_body(items, next_cursor))

    list_records.__name__ = f"list_{entity.replace('-', '_')}"
    api.add_api_route(
        f"/{entity}", list_records, methods=["GET"], response_class=JSONBytes,
        summary=f"List {entity} (cursor pagination, ordered by updated_at, id)",
        tags=["inbound lists"],
        responses={200: {"model": schemas.page_model(entity), "description": "one page"},
                   **schemas.error_responses(400)},
    )


def _admin_router(state: SandboxState, require_token: Any) -> APIRouter:
    """Test and benchmark controls. Not part of Brusnika's API, so kept out of the OpenAPI document."""
    admin = APIRouter(prefix="/admin", dependencies=[Depends(require_token)],
                      include_in_schema=False)

    @admin.post("/drift")
    async def do_drift(request: schemas.DriftRequest) -> dict[str, int]:
        return drift.apply(state, request.changes, request.seed)

    @admin.get("/faults")
    async def get_faults() -> dict[str, Any]:
        return state.faults.as_dict()

    @admin.post("/faults")
    async def set_faults(values: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        try:
            state.faults.update(values)
        except (TypeError, ValueError) as exc:
            raise errors.field_error("faults", str(exc)) from exc
        return state.faults.as_dict()

    @admin.delete("/faults")
    async def clear_faults() -> dict[str, Any]:
        state.faults.update(Faults().as_dict())
        return state.faults.as_dict()

    @admin.post("/reset")
    async def reset() -> dict[str, Any]:
        state.reset()
        return state.store.stats()

    @admin.get("/stats")
    async def stats() -> dict[str, Any]:
        return {**state.store.stats(), "faults": state.faults.as_dict(),
                "outbound": state.outbound.stats()}

    @admin.get("/records/{entity}")
    async def records(entity: str) -> Response:
        if entity not in ENTITIES:
            raise ApiError(404, "not_found", f"no list {entity!r}")
        return JSONBytes(state.store.records(entity))

    @admin.get("/users")
    async def users() -> Response:
        return JSONBytes(orjson.dumps(list(state.outbound.users.values())))

    return admin
