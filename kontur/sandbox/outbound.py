"""Outbound state and business rules (contract section 5): users, agencies, clients, bookings,
visits, and the Idempotency-Key memory. Methods take validated wire models and return wire dicts,
or raise `ApiError` with the contract's code."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import numpy as np
import orjson

from kontur.models import AgencyCreate, BookingCreate, ClientCreate, TimeSlotBookRequest, User, VisitCreate

from . import hostile, names, render
from .data import (
    BOOKED,
    DAY_US,
    FIXING_TYPES,
    FREE,
    FX_LEAD_CHECK,
    FX_REFUSED,
    FX_WEAK,
    client_id_of_phone,
    client_phone,
    inn_is_valid,
)
from .errors import ApiError, field_error
from .store import Store

IDEMPOTENCY_TTL_S = 24 * 3600
FIXING_DAYS = 30
SEARCH_LIMIT = 50


def _not_found(what: str, record_id: int) -> ApiError:
    # Ids beyond 64 bits pass validation but cannot travel as JSON integers here: echo them as text.
    shown: int | str = record_id if -(2**63) <= record_id < 2**63 else str(record_id)
    return ApiError(404, "not_found", f"no {what} with id {record_id}", {"resource": what, "id": shown})


class Outbound:
    def __init__(self, store: Store) -> None:
        self.store = store
        world = store.world
        self.users: dict[int, dict[str, Any]] = {k: dict(v) for k, v in world.users.items()}
        self.agencies: dict[int, dict[str, Any]] = {k: dict(v) for k, v in world.agencies.items()}
        self.inn_index = {a["inn"]: a["id"] for a in self.agencies.values()}
        self.n_seeded_clients = len(world.clients.agent_id)
        self.clients: dict[int, dict[str, Any]] = {}  # created through the API (or the admin API)
        # Generated clients changed through the admin API: id -> the wire fields set.
        self.client_overrides: dict[int, dict[str, Any]] = {}
        self.phone_index: dict[str, list[int]] = {}
        self.bookings: dict[int, dict[str, Any]] = {}
        self.visits: dict[int, dict[str, Any]] = {}
        self._idempotency: dict[str, tuple[bytes, float, int, bytes]] = {}
        self._name_keys: np.ndarray | None = None
        self.hostile = False
        if store.hostile:
            self.set_hostile(True)

    def set_hostile(self, on: bool) -> None:
        """Rewrite (or restore) the generated users' and agencies' names and URLs. A field someone
        changed since (PUT /users) is left alone. Seeded clients follow `store.hostile` when read."""
        if on == self.hostile:
            return
        self.hostile = on
        seed = self.store.seed
        for entity, generated, current in (
            ("users", self.store.world.users, self.users),
            ("agencies", self.store.world.agencies, self.agencies),
        ):
            names = (*hostile.TEXT_FIELDS.get(entity, ()), *hostile.URL_FIELDS.get(entity, ()))
            for key, base in generated.items():
                record = current.get(key)
                if record is None:
                    continue
                rewritten = hostile.rewrite(seed, entity, base)
                old, new = (base, rewritten) if on else (rewritten, base)
                for name in names:
                    if record.get(name) == old.get(name):
                        record[name] = new.get(name)

    def stats(self) -> dict[str, int]:
        return {
            "users": len(self.users),
            "agencies": len(self.agencies),
            "clients": self.n_seeded_clients + len(self.clients),
            "bookings": len(self.bookings),
            "visits": len(self.visits),
        }

    # -- idempotency -----------------------------------------------------------------------------
    def remembered(self, key: str, fingerprint: bytes) -> tuple[int, bytes] | None:
        """The first answer to this key, if the same request was seen within 24 hours."""
        entry = self._idempotency.get(key)
        if entry is None or entry[1] < time.time():
            return None
        if entry[0] != fingerprint:
            raise ApiError(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was already used with another request",
                [{"field": "Idempotency-Key", "message": "reused with another body"}],
            )
        return entry[2], entry[3]

    def remember(self, key: str, fingerprint: bytes, status: int, body: bytes) -> None:
        self._idempotency[key] = (fingerprint, time.time() + IDEMPOTENCY_TTL_S, status, body)

    @staticmethod
    def fingerprint(method: str, path: str, body: bytes) -> bytes:
        try:  # the same JSON sent with other spacing or key order is the same body
            canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS) if body else b""
        except orjson.JSONDecodeError:
            canonical = body
        return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).digest()

    # -- users and agencies ----------------------------------------------------------------------
    def put_user(self, user_id: int, user: User) -> dict[str, Any]:
        if user.id != user_id:
            raise field_error("id", "must equal the id in the path")
        wire = user.to_wire()
        self.users[user_id] = wire
        return wire

    def _agent(self, agent_id: int) -> dict[str, Any]:
        user = self.users.get(agent_id)
        if user is None:
            raise _not_found("user", agent_id)
        return user

    def create_agency(self, agency: AgencyCreate) -> dict[str, Any]:
        if not inn_is_valid(agency.inn):
            raise field_error("inn", "check digits do not match")
        if not self.store.exists("cities", agency.city_id):
            raise _not_found("city", agency.city_id)
        existing = self.inn_index.get(agency.inn)
        if existing is not None:
            raise ApiError(
                409,
                "agency_exists",
                "an agency with this INN is already registered",
                {"existing_id": existing},
            )
        agency_id = max(self.agencies, default=0) + 1
        wire = {"id": agency_id, **agency.to_wire()}
        self.agencies[agency_id] = wire
        self.inn_index[agency.inn] = agency_id
        return wire

    def search_agencies(self, inn: str | None, title: str | None) -> list[dict[str, Any]]:
        if not inn and not title:
            raise ApiError(
                400,
                "bad_request",
                "give inn or title",
                [{"field": "inn", "message": "inn or title is required"}],
            )
        if inn:
            found = self.inn_index.get(inn)
            hits = [self.agencies[found]] if found is not None else []
            return [a for a in hits if not title or title.casefold() in a["title"].casefold()]
        needle = (title or "").casefold()
        return [a for a in self.agencies.values() if needle in a["title"].casefold()][:SEARCH_LIMIT]

    # -- clients ---------------------------------------------------------------------------------
    def client(self, client_id: int) -> dict[str, Any] | None:
        if 1 <= client_id <= self.n_seeded_clients:
            return self._seeded_client(client_id - 1)
        return self.clients.get(client_id)

    def _seeded_client(self, index: int) -> dict[str, Any]:
        c = self.store.world.clients

        def ts(value: int) -> str | None:
            return render.ts_string(value) if value else None

        client_id = index + 1
        wire = {
            "id": client_id,
            "fullname": self.store.world.client_fullname(index),
            "phone_number": client_phone(client_id),
            "comment": "",
            "agent_id": int(c.agent_id[index]),
            "actived_date": ts(int(c.actived[index])),
            "fixing_type_updated_at": ts(int(c.fixing_updated_at[index])),
            "expiration_date": ts(int(c.expiration[index])),
            "fixing_type": FIXING_TYPES[int(c.fixing[index])].value,
        }
        if self.store.hostile:
            seed = self.store.seed
            comment = hostile.CLIENT_COMMENTS[client_id % len(hostile.CLIENT_COMMENTS)]
            wire["fullname"] = hostile.text(seed, "clients", client_id, "fullname", wire["fullname"])
            wire["comment"] = hostile.text(seed, "clients", client_id, "comment", comment)
        override = self.client_overrides.get(client_id)
        if override:
            wire.update(override)
        return wire

    def _holders(self, phone: str) -> list[dict[str, Any]]:
        out = [self.clients[i] for i in self.phone_index.get(phone, [])]
        seeded = client_id_of_phone(phone)
        if seeded is not None and 1 <= seeded <= self.n_seeded_clients:
            out.insert(0, self._seeded_client(seeded - 1))
        return out

    def create_client(self, request: ClientCreate) -> dict[str, Any]:
        self._agent(request.agent_id)
        now = self.store.tick()
        now_s = render.ts_string(now)
        # Brusnika refuses the fixing while the phone is fixed to another agent's client whose
        # fixing was not refused and has not expired.
        blocked = False
        held = False
        for holder in self._holders(request.phone_number):
            held = True
            expires = holder["expiration_date"]
            if (
                holder["agent_id"] != request.agent_id
                and holder["fixing_type"] != FIXING_TYPES[FX_REFUSED].value
                and expires is not None
                and _ts_us(expires) > now
            ):
                blocked = True
                break
        client_id = self.n_seeded_clients + len(self.clients) + 1
        wire = {"id": client_id, **request.to_wire()}
        if blocked:
            wire.update(
                actived_date=None,
                fixing_type_updated_at=now_s,
                expiration_date=None,
                fixing_type=FIXING_TYPES[FX_REFUSED].value,
            )
        else:
            fixing = FX_LEAD_CHECK if held else FX_WEAK
            wire.update(
                actived_date=now_s,
                fixing_type_updated_at=now_s,
                expiration_date=render.ts_string(now + FIXING_DAYS * DAY_US),
                fixing_type=FIXING_TYPES[fixing].value,
            )
        self.clients[client_id] = wire
        self.phone_index.setdefault(request.phone_number, []).append(client_id)
        return wire

    def search_clients(self, phone: str | None, fullname: str | None) -> list[dict[str, Any]]:
        if not phone and not fullname:
            raise ApiError(
                400,
                "bad_request",
                "give phone_number or fullname",
                [{"field": "phone_number", "message": "phone_number or fullname is required"}],
            )
        if phone:
            hits = self._holders(phone)
            if fullname:
                hits = [c for c in hits if fullname.casefold() in c["fullname"].casefold()]
            return hits[:SEARCH_LIMIT]
        needle = (fullname or "").casefold()
        found = [self._seeded_client(int(i)) for i in self._seeded_by_name(needle)]
        found += [self._seeded_client(i - 1) for i, o in self.client_overrides.items() if "fullname" in o]
        found += list(self.clients.values())
        seen: set[int] = set()
        hits = []
        for client in found:  # a renamed seeded client matches by its new name only
            if client["id"] not in seen and needle in client["fullname"].casefold():
                seen.add(client["id"])
                hits.append(client)
        return hits[:SEARCH_LIMIT]

    def _seeded_by_name(self, needle: str) -> np.ndarray:
        """Generated names are combinations of a few short lists: match the combinations, then look
        the matching ones up in the columns (no per-client string building)."""
        c = self.store.world.clients
        ns, nn, np_ = len(names.SURNAMES_M), len(names.NAMES_M), len(names.PATRONYMIC_ROOTS)
        if self._name_keys is None:
            self._name_keys = (
                (c.female.astype(np.int64) * ns + c.surname) * nn + c.name
            ) * np_ + c.patronymic
        matching = []
        for female in (0, 1):
            for s, surname in enumerate(names.SURNAMES_M):
                last = names.female_surname(surname) if female else surname
                for n, first in enumerate(names.NAMES_F if female else names.NAMES_M):
                    for p, root in enumerate(names.PATRONYMIC_ROOTS):
                        full = f"{last} {first} {names.patronymic(root, bool(female))}"
                        if needle in full.casefold():
                            matching.append(((female * ns + s) * nn + n) * np_ + p)
        if not matching:
            return np.zeros(0, np.int64)
        return np.flatnonzero(np.isin(self._name_keys, matching))[:SEARCH_LIMIT]

    # -- bookings --------------------------------------------------------------------------------
    def create_booking(self, request: BookingCreate) -> dict[str, Any]:
        index = request.premise_id - 1
        status = self.store.premise_status(index)
        if status is None:
            raise _not_found("premise", request.premise_id)
        if self.client(request.client_id) is None:
            raise _not_found("client", request.client_id)
        agent = self._agent(request.agent_id)
        if status != FREE:
            raise ApiError(
                409,
                "premise_unavailable",
                "the premise is already booked or sold",
                {"premise_id": request.premise_id},
            )
        if agent.get("remaining_user_creation_limit", 0) <= 0:
            raise ApiError(
                409, "booking_limit_reached", "the agent has no bookings left", {"agent_id": request.agent_id}
            )
        agent["remaining_user_creation_limit"] -= 1
        self.store.set_premise_status(index, BOOKED)
        booking_id = len(self.bookings) + 1
        wire = {"id": booking_id, **request.to_wire(), "status": "open"}
        self.bookings[booking_id] = wire
        return wire

    def cancel_booking(self, booking_id: int) -> dict[str, Any]:
        booking = self.bookings.get(booking_id)
        if booking is None:
            raise _not_found("booking", booking_id)
        if booking["status"] != "open":
            raise ApiError(
                409, "booking_not_open", f"the booking is {booking['status']}", {"status": booking["status"]}
            )
        booking["status"] = "fail"
        index = booking["premise_id"] - 1
        if self.store.premise_status(index) == BOOKED:
            self.store.set_premise_status(index, FREE)
        return booking

    # -- visits and time slots -------------------------------------------------------------------
    def _take_slot(self, slot_id: int, project_id: int | None) -> None:
        index = slot_id - 1
        booked = self.store.slot_booked(index)
        if booked is None:
            raise _not_found("time slot", slot_id)
        slot_project = int(self.store.world.slots.project_id[index])
        if project_id is not None and slot_project != project_id:
            raise field_error("time_slot_id", "the slot belongs to another project")
        if booked:
            raise ApiError(409, "slot_taken", "the time slot is already booked", {"time_slot_id": slot_id})
        self.store.set_slot_booked(index, True)

    def create_visit(self, request: VisitCreate) -> dict[str, Any]:
        if not self.store.exists("projects", request.project_id):
            raise _not_found("project", request.project_id)
        self._agent(request.agent_id)
        if self.client(request.client_id) is None:
            raise _not_found("client", request.client_id)
        if request.time_slot_id is not None:
            self._take_slot(request.time_slot_id, request.project_id)
        now = render.ts_string(self.store.tick())
        visit_id = len(self.visits) + 1
        wire = {
            "id": visit_id,
            **request.to_wire(),
            "request_date": now,
            "request_time": now,
            "status": "open",
        }
        self.visits[visit_id] = wire
        return wire

    def cancel_visit(self, visit_id: int) -> dict[str, Any]:
        visit = self.visits.get(visit_id)
        if visit is None:
            raise _not_found("visit", visit_id)
        if visit["status"] != "open":
            raise ApiError(
                409, "visit_not_open", f"the visit is {visit['status']}", {"status": visit["status"]}
            )
        visit["status"] = "fail"
        slot_id = visit.get("time_slot_id")
        if slot_id is not None and self.store.slot_booked(slot_id - 1):
            self.store.set_slot_booked(slot_id - 1, False)
        return visit

    def book_slot(self, slot_id: int, request: TimeSlotBookRequest) -> bytes:
        if self.store.slot_booked(slot_id - 1) is None:
            raise _not_found("time slot", slot_id)
        self._agent(request.agent_id)
        if self.client(request.client_id) is None:
            raise _not_found("client", request.client_id)
        self._take_slot(slot_id, None)
        body = self.store.feeds["time-slots"].current_body(slot_id)
        assert body is not None  # just re-rendered by _take_slot
        return body


def _ts_us(value: str) -> int:
    import datetime as dt

    parsed = dt.datetime.fromisoformat(value)
    return (parsed - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)
