"""`from_response` on answers the sandbox does not produce on demand: proxies' non-JSON bodies, unknown
statuses, malformed error bodies. (Every contract error over real HTTP: test_client_errors.py.)"""

from __future__ import annotations

import httpx
import pytest

from kontur.errors import (
    AuthError,
    BrusnikaError,
    ConflictError,
    FieldError,
    RateLimitedError,
    RequestValidationError,
    UnavailableError,
    UnexpectedResponseError,
    from_response,
)

REQUEST = httpx.Request(
    "POST",
    "http://brusnika.test/api/v1/clients?phone_number=%2B79990001122",
    headers={"Authorization": "Bearer unit-secret-token"},
)


def answer(status: int, **kwargs: object) -> httpx.Response:
    return httpx.Response(status, request=REQUEST, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_non_json_5xx_is_unavailable(status: int) -> None:
    error = from_response(answer(status, content=b"<html><body>Bad gateway</body></html>"))
    assert isinstance(error, UnavailableError)
    assert error.status == status
    assert error.code == "unavailable"
    assert "POST /api/v1/clients" in str(error)


def test_empty_503_is_unavailable() -> None:
    error = BrusnikaError.from_response(answer(503, content=b""))
    assert isinstance(error, UnavailableError)
    assert "Service Unavailable" in str(error)


def test_unknown_status_is_unexpected() -> None:
    error = from_response(answer(418, json={"error": {"code": "teapot", "message": "no", "details": {}}}))
    assert type(error) is UnexpectedResponseError
    assert error.code == "teapot"
    assert error.status == 418


def test_malformed_error_body_still_maps_by_status() -> None:
    error = from_response(answer(409, json={"error": "premise_unavailable"}))
    assert isinstance(error, ConflictError)
    assert error.code == "conflict"
    assert error.existing_id is None
    error = from_response(answer(401, json=[1, 2]))
    assert isinstance(error, AuthError)


def test_validation_details_tolerate_odd_items() -> None:
    body = {
        "error": {
            "code": "validation_error",
            "message": "invalid",
            "details": [{"field": "inn", "message": "bad check digit"}, "junk", {"message": "no field"}],
        }
    }
    error = from_response(answer(422, json=body))
    assert isinstance(error, RequestValidationError)
    assert error.field_errors == [FieldError("inn", "bad check digit"), FieldError("", "no field")]
    assert "inn: bad check digit" in str(error)


def test_rate_limited_without_retry_after() -> None:
    error = from_response(answer(429, json={"error": {"code": "rate_limited", "message": "slow down"}}))
    assert isinstance(error, RateLimitedError)
    assert error.retry_after is None


def test_messages_never_carry_headers_or_query() -> None:
    error = from_response(answer(502, content=b"oops"))
    text = str(error) + repr(error)
    assert "unit-secret-token" not in text
    assert "Authorization" not in text
    assert "79990001122" not in text


def test_response_without_request() -> None:
    error = from_response(httpx.Response(404, json={"error": {"code": "not_found", "message": "gone"}}))
    assert error.status == 404
    assert error.path is None
    assert str(error) == "gone (404 not_found)"
