"""The client's exception tree, one class per thing a caller does differently (contract section 7).

`BrusnikaError.from_response(response)` is the single translation from an HTTP answer to an exception.
Messages carry the method, the path, the status, Brusnika's code and message; never headers (the
token travels in one), never the query string (it may carry a phone number).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from kontur.retry import parse_retry_after


@dataclass(frozen=True)
class FieldError:
    """One rejected input field of a 422 `validation_error`."""

    field: str
    message: str


class BrusnikaError(Exception):
    """Anything that went wrong talking to Brusnika."""

    default_code: str = "error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        details: Any = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.status = status
        self.code = code or self.default_code
        self.message = message
        self.details = details
        self.method = method
        self.path = path
        super().__init__(self._render())

    def _render(self) -> str:
        where = f"{self.method} {self.path}: " if self.method and self.path else ""
        status = f"{self.status} " if self.status is not None else ""
        return f"{where}{self.message} ({status}{self.code})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, message={self.message!r})"

    @classmethod
    def from_response(cls, response: httpx.Response) -> BrusnikaError:
        """The exception for a non-2xx `response` (its body must already be read)."""
        return from_response(response)


class BadRequestError(BrusnikaError):
    """400: the request itself is wrong (limit out of range, bad cursor, malformed date)."""

    default_code = "bad_request"


class AuthError(BrusnikaError):
    """401: the token is wrong or missing. Retrying will not help."""

    default_code = "unauthorized"


class NotFoundError(BrusnikaError):
    """404: an unknown id."""

    default_code = "not_found"


class ConflictError(BrusnikaError):
    """409: the business rules refuse (`code` says which: `premise_unavailable`, `slot_taken`, ...)."""

    default_code = "conflict"

    @property
    def existing_id(self) -> int | None:
        """For `agency_exists`: the id of the agency already registered with that INN."""
        if isinstance(self.details, dict):
            value = self.details.get("existing_id")
            return value if isinstance(value, int) else None
        return None


class RequestValidationError(BrusnikaError):
    """422 `validation_error`: some fields are wrong; `field_errors` says which and why."""

    default_code = "validation_error"

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.field_errors: list[FieldError] = _field_errors(self.details)

    def _render(self) -> str:
        base = super()._render()
        fields = _field_errors(self.details)
        if not fields:
            return base
        return base + ": " + "; ".join(f"{item.field}: {item.message}" for item in fields)


class IdempotencyKeyReusedError(BrusnikaError):
    """422 `idempotency_key_reused`: the same Idempotency-Key was sent with another body."""

    default_code = "idempotency_key_reused"


class RateLimitedError(BrusnikaError):
    """429 that was not (or no longer) retried; `retry_after` is the server's wait in seconds."""

    default_code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class UnavailableError(BrusnikaError):
    """5xx, timeouts and connection errors, after retries ran out: Brusnika is not answering."""

    default_code = "unavailable"


class UnexpectedResponseError(BrusnikaError):
    """An answer outside the contract (an unknown status, or a 2xx whose body is not what it says)."""

    default_code = "unexpected_response"


class MalformedRecordError(UnexpectedResponseError):
    """A list page held an item that does not match the record model. `entity`, `index` (position in
    the page), `record_id` (if readable) and `reason` (pydantic's errors, field names included)
    locate it."""

    default_code = "malformed_record"

    def __init__(
        self, entity: str, index: int, record_id: Any, reason: str, *, path: str | None = None
    ) -> None:
        self.entity = entity
        self.index = index
        self.record_id = record_id
        self.reason = reason
        super().__init__(
            f"malformed {entity} item #{index} (id={record_id!r}): {reason}",
            method="GET" if path else None,
            path=path,
        )


_BY_STATUS: dict[int, type[BrusnikaError]] = {
    400: BadRequestError,
    401: AuthError,
    404: NotFoundError,
    409: ConflictError,
    422: RequestValidationError,
    429: RateLimitedError,
}


def from_response(response: httpx.Response) -> BrusnikaError:
    """Map a non-2xx answer to its exception by status, then by the body's error code."""
    status = response.status_code
    code, message, details = _error_body(response)
    try:
        request: httpx.Request | None = response.request
    except RuntimeError:  # a response built by hand has no request
        request = None
    common: dict[str, Any] = {
        "status": status,
        "code": code,
        "details": details,
        "method": request.method if request is not None else None,
        "path": request.url.path if request is not None else None,
    }
    message = message or response.reason_phrase or f"HTTP {status}"

    if status == 422 and code == "idempotency_key_reused":
        return IdempotencyKeyReusedError(message, **common)
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return RateLimitedError(message, retry_after=retry_after, **common)
    if status >= 500:
        return UnavailableError(message, **common)
    error_class = _BY_STATUS.get(status, UnexpectedResponseError)
    return error_class(message, **common)


def _error_body(response: httpx.Response) -> tuple[str | None, str | None, Any]:
    """(code, message, details) from the contract's error body; Nones when the body is not one
    (a proxy's HTML 502 page, an empty 503)."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None, None, None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, None, None
    code = error.get("code")
    message = error.get("message")
    return (
        code if isinstance(code, str) else None,
        message if isinstance(message, str) else None,
        error.get("details"),
    )


def _field_errors(details: Any) -> list[FieldError]:
    if not isinstance(details, list):
        return []
    return [
        FieldError(field=str(item.get("field", "")), message=str(item.get("message", "")))
        for item in details
        if isinstance(item, dict)
    ]
