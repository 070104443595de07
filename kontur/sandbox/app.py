"""The sandbox's FastAPI application: the contract's list endpoints and health here, the outbound
methods (`outbound_routes`), the admin API (`admin_routes`) and the pictures (`media`). Faults wrap
the whole app (see `faults.py`)."""

from __future__ import annotations

import datetime as dt
import hmac
import random
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.responses import Response

from kontur.models import ENTITIES

from . import errors, render, schemas
from .admin_routes import admin_router
from .errors import ApiError
from .faults import FaultMiddleware, as_served
from .feed import BadCursor
from .media import add_media_routes
from .outbound_routes import add_outbound_routes
from .responses import JSONBytes
from .state import SandboxState

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
        raise ApiError(
            400,
            "bad_request",
            "updated_since must be an RFC 3339 timestamp",
            [{"field": "updated_since", "message": "not an RFC 3339 timestamp"}],
        ) from exc
    if value.tzinfo is None:
        raise ApiError(
            400,
            "bad_request",
            "updated_since needs a UTC offset",
            [{"field": "updated_since", "message": "timestamp without offset"}],
        )
    return (value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def build_app(state: SandboxState) -> Any:
    """The ASGI app to serve: FastAPI wrapped in the fault injector."""
    app = FastAPI(
        title="Brusnika sandbox",
        version="1.0",
        description="Kontur's sandbox of Brusnika's REST API (contract: brusnika-api.md).",
        docs_url=None,
        redoc_url=None,
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
    add_outbound_routes(api, state)
    app.include_router(api)

    @app.get("/health", tags=["sandbox"], response_model=dict[str, str])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(admin_router(state, require_token))
    add_media_routes(app, state)  # unauthenticated pictures at /media/... (see media.py)
    return FaultMiddleware(app, state.faults, random.Random())


def _add_list_route(api: APIRouter, state: SandboxState, entity: str) -> None:
    async def list_records(
        limit: Annotated[int, Query(ge=1, le=1000, description="page size")] = 500,
        cursor: Annotated[
            str | None, Query(min_length=1, max_length=200, description="next_cursor of the previous page")
        ] = None,
        updated_since: Annotated[
            str | None,
            Query(
                description="RFC 3339; only records updated strictly later, tombstones included",
                json_schema_extra={"format": "date-time"},
            ),
        ] = None,
    ) -> Response:
        since = parse_since(updated_since)
        store = state.store
        try:
            items, ids, next_cursor = store.page(entity, limit, cursor, since)
        except BadCursor as exc:
            raise ApiError(400, "bad_request", str(exc), [{"field": "cursor", "message": str(exc)}]) from exc
        share, chosen = state.faults.malformed, state.faults.malformed_ids.get(entity)
        if share > 0 or chosen:
            items = [
                as_served(state.faults, store.seed, entity, rid, body)
                for body, rid in zip(items, ids, strict=True)
            ]
        return JSONBytes(render.page_body(items, next_cursor))

    list_records.__name__ = f"list_{entity.replace('-', '_')}"
    api.add_api_route(
        f"/{entity}",
        list_records,
        methods=["GET"],
        response_class=JSONBytes,
        summary=f"List {entity} (cursor pagination, ordered by updated_at, id)",
        tags=["inbound lists"],
        responses={
            200: {"model": schemas.page_model(entity), "description": "one page"},
            **schemas.error_responses(400),
        },
    )
