"""The admin API (`/admin/...`, same bearer token): test and benchmark controls. Not part of
Brusnika's API, so kept out of the OpenAPI document. `SandboxAdmin` (admin.py) is its client.

Every handler is `async`: it runs on the server's event loop, where every other mutation of the
store runs too, so none of them needs a lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import orjson
from fastapi import APIRouter, Body, Depends, Path
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from kontur.models import ENTITIES

from . import admin_clients, drift, errors, patch
from .errors import ApiError
from .responses import JSONBytes, json_response
from .schemas import DriftRequest

if TYPE_CHECKING:
    from .state import SandboxState

RecordId = Annotated[int, Path(ge=1)]


class ContinuousDriftRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    per_second: float = Field(ge=0, le=100_000)
    seed: int | None = None


def _entity(entity: str) -> str:
    if entity not in ENTITIES:
        raise ApiError(404, "not_found", f"no list {entity!r}; lists: {', '.join(ENTITIES)}")
    return entity


def admin_router(state: SandboxState, require_token: Any) -> APIRouter:
    admin = APIRouter(prefix="/admin", dependencies=[Depends(require_token)], include_in_schema=False)

    @admin.post("/drift")
    async def do_drift(request: DriftRequest) -> dict[str, int]:
        return drift.apply(state.store, request.changes, request.seed)

    @admin.get("/drift/continuous")
    async def drift_status() -> dict[str, Any]:
        return state.drift.status()

    @admin.post("/drift/continuous")
    async def drift_continuous(request: ContinuousDriftRequest) -> dict[str, Any]:
        state.drift.set_rate(request.per_second, request.seed)
        return state.drift.status()

    @admin.get("/faults")
    async def get_faults() -> dict[str, Any]:
        return state.faults.as_dict()

    @admin.post("/faults")
    async def set_faults(values: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        try:
            state.update_faults(values)
        except (TypeError, ValueError) as exc:
            raise errors.field_error("faults", str(exc)) from exc
        return state.faults.as_dict()

    @admin.delete("/faults")
    async def clear_faults() -> dict[str, Any]:
        state.clear_faults()
        return state.faults.as_dict()

    @admin.post("/reset")
    async def reset() -> dict[str, Any]:
        state.reset()
        return state.store.stats()

    @admin.get("/stats")
    async def stats() -> dict[str, Any]:
        return {
            **state.store.stats(),
            "faults": state.faults.as_dict(),
            "outbound": state.outbound.stats(),
            "modes": {
                "hostile": state.store.hostile,
                "edge_cases": state.store.edge_cases,
                "drift_per_second": state.drift.per_second,
            },
        }

    @admin.get("/edge-cases")
    async def edge_cases() -> dict[str, int]:
        if not state.store.edge_cases:
            raise ApiError(404, "not_found", "edge-cases mode is off: start the sandbox with --edge-cases")
        return state.store.world.edge_cases

    @admin.get("/records/{entity}")
    async def records(entity: str) -> Response:
        return JSONBytes(state.store.records(_entity(entity)))

    @admin.get("/records/{entity}/{record_id}")
    async def record(entity: str, record_id: RecordId) -> Response:
        body = state.store.feeds[_entity(entity)].current_body(record_id)
        if body is None:
            raise ApiError(404, "not_found", f"no live {entity} record with id {record_id}")
        return JSONBytes(body)

    @admin.patch("/records/{entity}/{record_id}")
    async def patch_record(
        entity: str, record_id: RecordId, changes: Annotated[dict[str, Any], Body()]
    ) -> Response:
        return JSONBytes(patch.patch_record(state.store, _entity(entity), record_id, changes))

    @admin.delete("/records/{entity}/{record_id}")
    async def delete_record(entity: str, record_id: RecordId) -> Response:
        store = state.store
        if not store.delete(_entity(entity), record_id):
            raise ApiError(404, "not_found", f"no live {entity} record with id {record_id}")
        log = store.feeds[entity]
        return JSONBytes(log.body[log.position_of(record_id)])  # the tombstone just appended

    @admin.get("/users")
    async def users() -> Response:
        return JSONBytes(orjson.dumps(list(state.outbound.users.values())))

    @admin.get("/agencies")
    async def agencies() -> Response:
        return JSONBytes(orjson.dumps(list(state.outbound.agencies.values())))

    @admin.post("/clients", status_code=201)
    async def create_client(request: admin_clients.AdminClientCreate) -> Response:
        return json_response(201, admin_clients.create(state.outbound, request))

    @admin.get("/clients/{client_id}")
    async def get_client(client_id: RecordId) -> Response:
        client = state.outbound.client(client_id)
        if client is None:
            raise ApiError(404, "not_found", f"no client with id {client_id}")
        return json_response(200, client)

    @admin.patch("/clients/{client_id}")
    async def update_client(client_id: RecordId, request: admin_clients.AdminClientUpdate) -> Response:
        return json_response(200, admin_clients.update(state.outbound, client_id, request))

    return admin
