"""The contract's error body (section 7) for every non-2xx answer, FastAPI's own included."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | list[Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details if details is not None else {}


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | list[Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = orjson.dumps(
        {"error": {"code": code, "message": message, "details": details if details is not None else {}}}
    )
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def field_error(field: str, message: str) -> ApiError:
    return ApiError(422, "validation_error", f"{field}: {message}", [{"field": field, "message": message}])


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "validation_error",
}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Response:
        problems = exc.errors()
        where = {str(p["loc"][0]) if p.get("loc") else "body" for p in problems}
        details = [
            {
                "field": ".".join(str(x) for x in p.get("loc", ())[1:]) or str(p["loc"][0]),
                "message": str(p.get("msg", "invalid")),
            }
            for p in problems
        ]
        # Malformed query parameters (limit, updated_since, cursor, search terms) are a bad request
        # in the contract; a non-numeric id in the path is an unknown id; bodies and headers are 422.
        if "query" in where:
            return error_response(
                400, "bad_request", "; ".join(f"{d['field']}: {d['message']}" for d in details), details
            )
        if where == {"path"}:
            return error_response(404, "not_found", "no such record", details)
        return error_response(422, "validation_error", "the request body is not valid", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, "error")
        return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)
