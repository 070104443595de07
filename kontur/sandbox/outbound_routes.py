"""HTTP routes of the outbound methods (contract section 5), with Idempotency-Key handling."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from fastapi import APIRouter, Header, Path, Query, Request
from starlette.responses import Response

from kontur.models import (
    Agency,
    AgencyCreate,
    Booking,
    BookingCreate,
    Client,
    ClientCreate,
    TimeSlot,
    TimeSlotBookRequest,
    User,
    Visit,
    VisitCreate,
)

from .errors import ApiError, error_response
from .responses import json_response
from .schemas import AgencyList, ClientList, error_responses

if TYPE_CHECKING:
    from .state import SandboxState

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=64,
        pattern=r"^[\x21-\x7e]+$",
        description="1–64 visible ASCII characters; a repeat with the same body returns the first answer",
    ),
]
RecordId = Annotated[int, Path(ge=1)]


async def _idempotent(
    state: SandboxState, request: Request, key: str | None, status: int, action: Callable[[], Any]
) -> Response:
    """Run `action` once per (key, body): a repeat returns the first answer, errors included."""
    outbound = state.outbound
    fingerprint = b""
    if key is not None:
        fingerprint = outbound.fingerprint(request.method, request.url.path, await request.body())
        try:
            seen = outbound.remembered(key, fingerprint)
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message, exc.details)
        if seen is not None:
            return Response(seen[1], status_code=seen[0], media_type="application/json")
    try:
        result = action()
        code, body = status, result if isinstance(result, bytes) else orjson.dumps(result)
    except ApiError as exc:
        code = exc.status
        body = orjson.dumps({"error": {"code": exc.code, "message": exc.message, "details": exc.details}})
    if key is not None:
        outbound.remember(key, fingerprint, code, body)
    return Response(body, status_code=code, media_type="application/json")


def add_outbound_routes(api: APIRouter, state: SandboxState) -> None:
    tags = ["outbound"]

    @api.put("/users/{user_id}", response_model=User, tags=tags, responses=error_responses(404, 422))
    async def put_user(user_id: RecordId, user: User) -> Response:
        return json_response(200, state.outbound.put_user(user_id, user))

    @api.post(
        "/agencies",
        status_code=201,
        response_model=Agency,
        tags=tags,
        responses=error_responses(404, 409, 422),
    )
    async def create_agency(
        request: Request, agency: AgencyCreate, idempotency_key: IdempotencyKey = None
    ) -> Response:
        return await _idempotent(
            state, request, idempotency_key, 201, lambda: state.outbound.create_agency(agency)
        )

    @api.get("/agencies/search", response_model=AgencyList, tags=tags, responses=error_responses(400))
    async def search_agencies(
        inn: Annotated[str | None, Query(max_length=12)] = None,
        title: Annotated[str | None, Query(max_length=200)] = None,
    ) -> Response:
        return json_response(200, {"items": state.outbound.search_agencies(inn, title)})

    @api.post(
        "/clients", status_code=201, response_model=Client, tags=tags, responses=error_responses(404, 422)
    )
    async def create_client(
        request: Request, client: ClientCreate, idempotency_key: IdempotencyKey = None
    ) -> Response:
        return await _idempotent(
            state, request, idempotency_key, 201, lambda: state.outbound.create_client(client)
        )

    @api.get("/clients/search", response_model=ClientList, tags=tags, responses=error_responses(400))
    async def search_clients(
        phone_number: Annotated[str | None, Query(max_length=20)] = None,
        fullname: Annotated[str | None, Query(max_length=200)] = None,
    ) -> Response:
        return json_response(200, {"items": state.outbound.search_clients(phone_number, fullname)})

    @api.post(
        "/bookings",
        status_code=201,
        response_model=Booking,
        tags=tags,
        responses=error_responses(404, 409, 422),
    )
    async def create_booking(
        request: Request, booking: BookingCreate, idempotency_key: IdempotencyKey = None
    ) -> Response:
        return await _idempotent(
            state, request, idempotency_key, 201, lambda: state.outbound.create_booking(booking)
        )

    @api.post(
        "/bookings/{booking_id}/cancel",
        response_model=Booking,
        tags=tags,
        responses=error_responses(404, 409, 422),
    )
    async def cancel_booking(
        request: Request, booking_id: RecordId, idempotency_key: IdempotencyKey = None
    ) -> Response:
        return await _idempotent(
            state, request, idempotency_key, 200, lambda: state.outbound.cancel_booking(booking_id)
        )

    @api.post(
        "/visits", status_code=201, response_model=Visit, tags=tags, responses=error_responses(404, 409, 422)
    )
    async def create_visit(
        request: Request, visit: VisitCreate, idempotency_key: IdempotencyKey = None
    ) -> Response:
        return await _idempotent(
            state, request, idempotency_key, 201, lambda: state.outbound.create_visit(visit)
        )

    @api.post(
        "/visits/{visit_id}/cancel", response_model=Visit, tags=tags, responses=error_responses(404, 409, 422)
    )
    async def cancel_visit(
        request: Request, visit_id: RecordId, idempotency_key: IdempotencyKey = None
    ) -> Response:
        return await _idempotent(
            state, request, idempotency_key, 200, lambda: state.outbound.cancel_visit(visit_id)
        )

    @api.post(
        "/time-slots/{slot_id}/book",
        response_model=TimeSlot,
        tags=tags,
        responses=error_responses(404, 409, 422),
    )
    async def book_time_slot(
        request: Request, slot_id: RecordId, body: TimeSlotBookRequest, idempotency_key: IdempotencyKey = None
    ) -> Response:
        return await _idempotent(
            state, request, idempotency_key, 200, lambda: state.outbound.book_slot(slot_id, body)
        )
