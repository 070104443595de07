"""`BrusnikaClient`: the one typed way to talk to Brusnika's REST API (contract sections 3, 5, 7).

Inbound lists are lazy iterators fetching page by page; `iter_raw_pages` hands the sync engine the
undecoded page bytes (it validates per record itself). Outbound methods take and return wire models.
Every request goes through `_request`, the single point where HTTP outcomes become exceptions;
retries happen below it, in `kontur.retry.RetryTransport`.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

import httpx
import orjson
from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError, create_model

from kontur.config import Settings
from kontur.errors import (
    BrusnikaError,
    MalformedRecordError,
    UnavailableError,
    UnexpectedResponseError,
    from_response,
)
from kontur.models import (
    ENTITIES,
    Agency,
    AgencyCreate,
    Booking,
    BookingCreate,
    Building,
    City,
    Client,
    ClientCreate,
    Lead,
    Premise,
    Project,
    Section,
    TimeSlot,
    TimeSlotBookRequest,
    Tombstone,
    User,
    Visit,
    VisitCreate,
    feed_item_adapter,
    feed_item_type,
)
from kontur.retry import IDEMPOTENCY_HEADER, RetryPolicy, RetryTransport

logger = logging.getLogger("kontur.client")

# Entity name -> path segment under /api/v1: the models' entity names are the contract's path segments
# (`time-slots`); the Python spelling `time_slots` is accepted too.
ENTITY_PATHS: dict[str, str] = {entity: entity for entity in ENTITIES}

# `"next_cursor": null` or `"next_cursor": "..."` as the last member of the top-level object. Anchored
# at the very end (one closing brace), so a `next_cursor` inside an item (followed by `}]}`) or inside
# a string cannot match.
_TAIL_CURSOR = re.compile(rb'"next_cursor"\s*:\s*(null|"(?:[^"\\]|\\.)*")\s*}\s*$')
# The same member placed first, for servers that serialise it before `items`.
_HEAD_CURSOR = re.compile(rb'^\s*{\s*"next_cursor"\s*:\s*(null|"(?:[^"\\]|\\.)*")\s*,')
_TAIL_BYTES = 4096
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,64}$")

M = TypeVar("M", bound=BaseModel)
Since = datetime | None


@dataclass(frozen=True)
class RawPage:
    """One list page as received: the undecoded body and the cursor of the next page (None = last)."""

    content: bytes
    next_cursor: str | None
    entity: str


@dataclass(frozen=True)
class RejectedItem:
    """A list item that failed validation, yielded instead of raised by `iter_records(...,
    on_invalid="yield")` so the caller can keep it aside. `raw` is the item as decoded JSON."""

    entity: str
    index: int
    record_id: Any
    reason: str
    raw: Any


def canonical_entity(entity: str) -> str:
    name = entity.replace("_", "-")
    if name not in ENTITY_PATHS:
        raise ValueError(f"unknown entity {entity!r}; expected one of {', '.join(ENTITY_PATHS)}")
    return name


def rfc3339(value: datetime) -> str:
    """`updated_since` on the wire: RFC 3339 with an explicit offset. A naive datetime is refused,
    because guessing its zone would silently skip or repeat changes."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("updated_since must be timezone-aware")
    return value.isoformat()


def next_cursor_of(content: bytes) -> str | None:
    """The page's `next_cursor`, read from the end (or start) of the body without decoding the
    items; falls back to a full parse when the body is laid out otherwise."""
    match = _TAIL_CURSOR.search(content, max(0, len(content) - _TAIL_BYTES)) or _HEAD_CURSOR.match(
        content[:_TAIL_BYTES]
    )
    if match is not None:
        return orjson.loads(match.group(1))
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise UnexpectedResponseError(f"list page is not JSON: {exc}") from None
    if not isinstance(body, dict) or "next_cursor" not in body:
        raise UnexpectedResponseError("list page has no next_cursor")
    cursor = body["next_cursor"]
    if cursor is not None and not isinstance(cursor, str):
        raise UnexpectedResponseError("list page's next_cursor is not a string")
    return cursor


# Page-level adapters: one `validate_json` over the page bytes is much faster than decoding first and
# validating item by item. Cached per entity (building them is not free; they are immutable).
_PAGE_ADAPTERS: dict[str, TypeAdapter[Any]] = {}
_ITEMS_ADAPTERS: dict[type, TypeAdapter[Any]] = {}


def _page_adapter(entity: str) -> TypeAdapter[Any]:
    adapter = _PAGE_ADAPTERS.get(entity)
    if adapter is None:
        page = create_model("Page", items=(list[feed_item_type(entity)], ...), next_cursor=(str | None, None))
        adapter = _PAGE_ADAPTERS[entity] = TypeAdapter(page)
    return adapter


def _items_adapter(model: type[M]) -> TypeAdapter[Any]:
    adapter = _ITEMS_ADAPTERS.get(model)
    if adapter is None:
        items = create_model("Items", items=(list[model], ...))
        adapter = _ITEMS_ADAPTERS[model] = TypeAdapter(items)
    return adapter


def _brief(exc: ValidationError) -> str:
    """pydantic's errors as `field: message` pairs, without echoing input values."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(part) for part in err["loc"] if part not in ("record", "tombstone"))
        parts.append(f"{loc or '(item)'}: {err['msg']}")
    return "; ".join(parts)


class BrusnikaClient:
    """Typed client of Brusnika's REST API. Use as a context manager, or call `close()`."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        base_url: str | None = None,
        token: str | SecretStr | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float | httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        if settings is None:
            # Explicit URL and token need nothing from the environment.
            settings = Settings() if base_url and token else Settings.from_env()
        url = base_url or settings.api_url
        if not url:
            raise ValueError(
                "no Brusnika API URL: set BRUSNIKA_API_URL (base including /api/v1) or pass base_url"
            )
        self.base_url = url.rstrip("/")
        if token is None:
            token = settings.api_token
        self._token = token if isinstance(token, SecretStr) or token is None else SecretStr(token)
        if timeout is None:
            timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
        if not isinstance(transport, RetryTransport):
            transport = RetryTransport(transport, retry or settings.retry_policy())
        headers = {"Accept": "application/json", "User-Agent": "kontur-brusnika/0.1"}
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        self._http = httpx.Client(
            base_url=self.base_url + "/", headers=headers, transport=transport, timeout=timeout
        )

    @classmethod
    def interactive(cls, settings: Settings, *, transport: httpx.BaseTransport | None = None) -> Self:
        """For calls a person waits on (the forms): the sync's retries, but each request (its retries
        and waits included) ends within `settings.interactive_budget` seconds; the form then says the
        result is unknown and a repeat is safe. Background syncs keep the patient policy (no budget)."""
        budget = settings.interactive_budget
        read, connect = min(settings.read_timeout, budget), min(settings.connect_timeout, budget)
        timeout = httpx.Timeout(read, connect=connect)
        policy = settings.retry_policy().within(budget)
        return cls(settings, transport=transport, timeout=timeout, retry=policy)

    def __repr__(self) -> str:
        token = "'**********'" if self._token is not None else "None"
        return f"BrusnikaClient(base_url={self.base_url!r}, token={token})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> BrusnikaClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ the one request point

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: BaseModel | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """Send one logical request (retries happen in the transport) and turn failures into
        `BrusnikaError`s. POSTs always carry an Idempotency-Key, so their retries are safe."""
        headers: dict[str, str] = {}
        if method == "POST":
            key = idempotency_key or uuid.uuid4().hex
            if not _IDEMPOTENCY_KEY.match(key):
                raise ValueError("idempotency_key must be 1–64 visible ASCII characters")
            headers[IDEMPOTENCY_HEADER] = key
        content: bytes | None = None
        if body is not None:
            content = orjson.dumps(body.to_wire())  # type: ignore[attr-defined]
            headers["Content-Type"] = "application/json"
        try:
            response = self._http.request(method, path, params=params, content=content, headers=headers)
        except httpx.TimeoutException as exc:
            where = self._http.base_url.path + path
            raise self._scrub(
                UnavailableError(f"timed out ({type(exc).__name__})", method=method, path=where)
            ) from None
        except httpx.TransportError as exc:
            where = self._http.base_url.path + path
            raise self._scrub(
                UnavailableError(
                    f"connection failed ({type(exc).__name__}: {exc})", method=method, path=where
                )
            ) from None
        if response.is_success:
            return response
        raise self._scrub(from_response(response))

    def _scrub(self, error: BrusnikaError) -> BrusnikaError:
        """Belt and braces: should a server ever echo the token, it still never leaves this client."""
        if self._token is None:
            return error
        secret = self._token.get_secret_value()
        # Very short "tokens" (tests, typos) would mangle ordinary words; real ones are long.
        if len(secret) >= 8 and secret in str(error):
            error.message = error.message.replace(secret, "**********")
            error.args = (str(error.args[0]).replace(secret, "**********"),)
        return error

    def _model(self, response: httpx.Response, model: type[M]) -> M:
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise UnexpectedResponseError(
                f"answer is not a valid {model.__name__}: {_brief(exc)}",
                status=response.status_code,
                method=response.request.method,
                path=response.request.url.path,
            ) from None

    def _items(self, response: httpx.Response, model: type[M]) -> list[M]:
        try:
            return _items_adapter(model).validate_json(response.content).items
        except ValidationError as exc:
            raise UnexpectedResponseError(
                f"answer is not a list of {model.__name__}: {_brief(exc)}",
                status=response.status_code,
                method=response.request.method,
                path=response.request.url.path,
            ) from None

    # ------------------------------------------------------------------ inbound lists

    def iter_raw_pages(
        self, entity: str, *, updated_since: datetime | None = None, limit: int = 1000
    ) -> Iterator[RawPage]:
        """Every page of `entity`'s feed, undecoded, lazily. With `updated_since`: only records changed
        strictly later, tombstones included; without: a full snapshot of live records."""
        name = canonical_entity(entity)
        params: dict[str, Any] = {"limit": limit}
        if updated_since is not None:
            params["updated_since"] = rfc3339(updated_since)
        return self._pages(name, params)

    def _pages(self, name: str, params: dict[str, Any]) -> Iterator[RawPage]:
        seen: set[str] = set()
        while True:
            response = self._request("GET", ENTITY_PATHS[name], params=params)
            try:
                cursor = next_cursor_of(response.content)
            except UnexpectedResponseError as exc:
                raise UnexpectedResponseError(
                    exc.message, status=response.status_code, method="GET", path=response.request.url.path
                ) from None
            yield RawPage(content=response.content, next_cursor=cursor, entity=name)
            if cursor is None:
                return
            if cursor in seen:
                # A server handing back an old cursor would make us loop forever.
                raise UnexpectedResponseError(f"{name} feed repeated cursor {cursor!r}")
            seen.add(cursor)
            params = {**params, "cursor": cursor}

    def iter_records(
        self,
        entity: str,
        *,
        updated_since: datetime | None = None,
        limit: int = 500,
        on_invalid: Literal["raise", "yield"] = "raise",
    ) -> Iterator[Any]:
        """Records (model instances) and `Tombstone`s of `entity`, lazily, page by page.

        A malformed item raises `MalformedRecordError` (entity, position, id, which fields) by
        default; with `on_invalid="yield"` it is yielded as a `RejectedItem` and iteration goes on.
        """
        if on_invalid not in ("raise", "yield"):
            raise ValueError("on_invalid must be 'raise' or 'yield'")
        for page in self.iter_raw_pages(entity, updated_since=updated_since, limit=limit):
            yield from self._page_items(page, on_invalid)

    def _page_items(self, page: RawPage, on_invalid: str) -> Iterator[Any]:
        try:
            yield from _page_adapter(page.entity).validate_json(page.content).items
            return
        except ValidationError:
            pass  # find the culprits item by item below
        try:
            items = orjson.loads(page.content)["items"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise UnexpectedResponseError(f"{page.entity} page has no items list") from None
        if not isinstance(items, list):
            raise UnexpectedResponseError(f"{page.entity} page's items is not a list")
        adapter = feed_item_adapter(page.entity)
        for index, raw in enumerate(items):
            try:
                yield adapter.validate_python(raw)
            except ValidationError as exc:
                record_id = raw.get("id") if isinstance(raw, dict) else None
                reason = _brief(exc)
                if on_invalid == "raise":
                    raise MalformedRecordError(
                        page.entity,
                        index,
                        record_id,
                        reason,
                        path=self._http.base_url.path + ENTITY_PATHS[page.entity],
                    ) from None
                logger.warning("rejected %s item id=%r: %s", page.entity, record_id, reason)
                yield RejectedItem(page.entity, index, record_id, reason, raw)

    def cities(self, *, updated_since: Since = None, limit: int = 500) -> Iterator[City | Tombstone]:
        return self.iter_records("cities", updated_since=updated_since, limit=limit)

    def projects(self, *, updated_since: Since = None, limit: int = 500) -> Iterator[Project | Tombstone]:
        return self.iter_records("projects", updated_since=updated_since, limit=limit)

    def buildings(self, *, updated_since: Since = None, limit: int = 500) -> Iterator[Building | Tombstone]:
        return self.iter_records("buildings", updated_since=updated_since, limit=limit)

    def sections(self, *, updated_since: Since = None, limit: int = 500) -> Iterator[Section | Tombstone]:
        return self.iter_records("sections", updated_since=updated_since, limit=limit)

    def premises(self, *, updated_since: Since = None, limit: int = 500) -> Iterator[Premise | Tombstone]:
        return self.iter_records("premises", updated_since=updated_since, limit=limit)

    def leads(self, *, updated_since: Since = None, limit: int = 500) -> Iterator[Lead | Tombstone]:
        return self.iter_records("leads", updated_since=updated_since, limit=limit)

    def time_slots(self, *, updated_since: Since = None, limit: int = 500) -> Iterator[TimeSlot | Tombstone]:
        return self.iter_records("time-slots", updated_since=updated_since, limit=limit)

    # ------------------------------------------------------------------ outbound methods

    def put_user(self, user: User) -> User:
        return self._model(self._request("PUT", f"users/{user.id}", body=user), User)

    def create_agency(self, agency: AgencyCreate, *, idempotency_key: str | None = None) -> Agency:
        response = self._request("POST", "agencies", body=agency, idempotency_key=idempotency_key)
        return self._model(response, Agency)

    def search_agencies(self, *, inn: str | None = None, title: str | None = None) -> list[Agency]:
        params = {k: v for k, v in {"inn": inn, "title": title}.items() if v is not None}
        return self._items(self._request("GET", "agencies/search", params=params), Agency)

    def create_client(self, client: ClientCreate, *, idempotency_key: str | None = None) -> Client:
        response = self._request("POST", "clients", body=client, idempotency_key=idempotency_key)
        return self._model(response, Client)

    def search_clients(self, *, phone_number: str | None = None, fullname: str | None = None) -> list[Client]:
        params = {
            k: v for k, v in {"phone_number": phone_number, "fullname": fullname}.items() if v is not None
        }
        return self._items(self._request("GET", "clients/search", params=params), Client)

    def create_booking(self, booking: BookingCreate, *, idempotency_key: str | None = None) -> Booking:
        response = self._request("POST", "bookings", body=booking, idempotency_key=idempotency_key)
        return self._model(response, Booking)

    def cancel_booking(self, booking_id: int, *, idempotency_key: str | None = None) -> Booking:
        response = self._request(
            "POST", f"bookings/{int(booking_id)}/cancel", idempotency_key=idempotency_key
        )
        return self._model(response, Booking)

    def create_visit(self, visit: VisitCreate, *, idempotency_key: str | None = None) -> Visit:
        response = self._request("POST", "visits", body=visit, idempotency_key=idempotency_key)
        return self._model(response, Visit)

    def cancel_visit(self, visit_id: int, *, idempotency_key: str | None = None) -> Visit:
        response = self._request("POST", f"visits/{int(visit_id)}/cancel", idempotency_key=idempotency_key)
        return self._model(response, Visit)

    def book_time_slot(
        self, slot_id: int, request: TimeSlotBookRequest, *, idempotency_key: str | None = None
    ) -> TimeSlot:
        response = self._request(
            "POST", f"time-slots/{int(slot_id)}/book", body=request, idempotency_key=idempotency_key
        )
        return self._model(response, TimeSlot)
