"""`PATCH /admin/records/{entity}/{id}`: set wire fields of one inbound record, validated against the
wire model, then served as a new version (new updated_at, published to Kafka when it runs).

The record as patched must be contract-valid: the current record with the patch applied is validated
by `kontur.models` before anything changes. Fields set here are served exactly as given, even in
hostile mode. What the sandbox keeps derived stays derived: a building's `total_*`, once patched, are
Brusnika's own numbers and no longer follow its premises; a lead's `state` follows `current_status`
(patching the stage alone sets the matching state; a state that contradicts the stage is refused);
a premise cannot be booked and sold at once (the sandbox keeps one status).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from pydantic import ValidationError

from kontur.models import INBOUND_MODELS

from .data import BOOKED, EPOCH, FREE, PREMISE_TYPES, SOLD, STAGE_STATE, STAGES, STATES
from .errors import ApiError
from .store import SMALL, Store

_PROTECTED = ("id", "updated_at", "deleted")
_STAGE_INDEX = {stage.value: index for index, stage in enumerate(STAGES)}
_TOTALS = ("total_apartment", "total_parking_space", "total_storage", "total_commercial")
_EPOCH_DT = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _refuse(field: str, message: str) -> ApiError:
    return ApiError(422, "validation_error", f"{field}: {message}", [{"field": field, "message": message}])


def _in_range(field: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise _refuse(field, f"the sandbox keeps {field} within {low}..{high}")
    return value


def _set_index(sets: list[list[str]], values: list[str]) -> int:
    for index, existing in enumerate(sets):
        if existing == values:
            return index
    sets.append(list(values))
    return len(sets) - 1


def patch_record(store: Store, entity: str, record_id: int, changes: dict[str, Any]) -> bytes:
    """Apply `changes` (wire field -> wire value) and return the record's new JSON."""
    model = INBOUND_MODELS.get(entity)
    if model is None:
        raise ApiError(404, "not_found", f"no list {entity!r}")
    current = store.feeds[entity].current_body(record_id)
    if current is None:
        raise ApiError(
            404,
            "not_found",
            f"no live {entity} record with id {record_id}",
            {"resource": entity, "id": record_id},
        )
    for name in changes:
        if name in _PROTECTED:
            raise _refuse(
                name,
                "set by the sandbox (id is the path's; updated_at is bumped; "
                "delete the record to withdraw it)",
            )
        if name not in model.model_fields:
            raise _refuse(name, f"not a field of {model.__name__}")
    merged = {**orjson.loads(current), **changes}
    if entity == "leads" and "current_status" in changes and "state" not in changes:
        stage = _STAGE_INDEX.get(changes["current_status"])
        if stage is not None:
            merged["state"] = STATES[int(STAGE_STATE[stage])].value
    try:
        record = model.model_validate(merged)
    except ValidationError as exc:
        details = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        raise ApiError(422, "validation_error", "the patched record breaks the contract", details) from exc
    wire = record.model_dump(mode="json")
    values = {name: wire[name] for name in changes}
    if entity in SMALL:
        _patch_small(store, entity, record_id, values)
    elif entity == "premises":
        _patch_premise(store, record_id - 1, values, wire)
    elif entity == "leads":
        _patch_lead(store, record_id - 1, values, wire)
    else:
        _patch_slot(store, record_id - 1, values)
    body = store.feeds[entity].current_body(record_id)
    assert body is not None  # just served again
    return body


def _patch_small(store: Store, entity: str, record_id: int, values: dict[str, Any]) -> None:
    record = store.small_records(entity)[record_id - 1]
    exact = record.setdefault("_exact", set())
    for name, value in values.items():
        if entity == "buildings" and name in _TOTALS:
            record.setdefault("_totals", {})[name] = value
        else:
            record[name] = value
        exact.add(name)
    store.render_small(entity, record_id)


def _patch_premise(store: Store, index: int, values: dict[str, Any], wire: dict[str, Any]) -> None:
    world = store.world
    p = world.premises
    before = (int(p.building_id[index]), int(p.type[index]), int(p.status[index]) == FREE)
    if "building_id" in values and not store.exists("buildings", values["building_id"]):
        raise _refuse("building_id", f"no building {values['building_id']} in the sandbox")
    if ("is_booked" in values or "is_sold" in values) and wire["is_booked"] and wire["is_sold"]:
        raise _refuse("is_sold", "the sandbox keeps one status: booked or sold, not both")
    columns = {
        "project_id": (p.project_id, 1, 2**31 - 1),
        "building_id": (p.building_id, 1, 2**31 - 1),
        "section_id": (p.section_id, 1, 2**31 - 1),
        "rooms": (p.rooms, 0, 255),
        "price": (p.price, 0, 2**63 - 1),
        "floor": (p.floor, -(2**15), 2**15 - 1),
    }
    for name, (_column, low, high) in columns.items():
        if name in values:
            _in_range(name, values[name], low, high)
    for name, (column, _low, _high) in columns.items():
        if name in values:
            column[index] = values[name]
    if "size" in values:
        p.size[index] = values["size"]
    if "type" in values:
        p.type[index] = PREMISE_TYPES.index(values["type"])
    if "number" in values:
        p.number[index] = values["number"]
    if "feature" in values:
        p.features[index] = _set_index(world.feature_sets, values["feature"])
    if "purchase_option" in values:
        p.purchase[index] = _set_index(world.purchase_sets, values["purchase_option"])
    if "photos" in values:
        world.photo_overrides[index] = list(values["photos"])
    if "is_booked" in values or "is_sold" in values:
        p.status[index] = SOLD if wire["is_sold"] else BOOKED if wire["is_booked"] else FREE
    world.exact_premises.add(index)
    store.render_premise(index)
    store.recount_free(index, before)


def _us(value: str) -> int:
    return (dt.datetime.fromisoformat(value) - _EPOCH_DT) // dt.timedelta(microseconds=1)


def _patch_lead(store: Store, index: int, values: dict[str, Any], wire: dict[str, Any]) -> None:
    leads = store.world.leads
    stage = _STAGE_INDEX[wire["current_status"]]
    derived = STATES[int(STAGE_STATE[stage])].value
    if ("state" in values or "current_status" in values) and wire["state"] != derived:
        raise _refuse(
            "state", f"follows current_status in the sandbox: {derived!r} for {wire['current_status']!r}"
        )
    ids = {
        name: _in_range(name, values[name] or 0, 0, 2**63 - 1)  # 0 stands for null
        for name in ("client_id", "project_id", "agent_id", "premise_id", "manager_id")
        if name in values
    }
    if "current_status" in values:
        leads.stage[index] = stage
    for name, value in ids.items():
        getattr(leads, name)[index] = value
    if "sign_nps_passed" in values:
        leads.nps[index] = values["sign_nps_passed"]
    if "fee" in values:
        leads.fee[index] = values["fee"]
    if "start_date" in values:
        leads.start_day[index] = (dt.date.fromisoformat(values["start_date"]) - EPOCH).days
    if "status_updated_at" in values:
        leads.status_updated_at[index] = _us(values["status_updated_at"])
    store.render_lead(index)


def _patch_slot(store: Store, index: int, values: dict[str, Any]) -> None:
    slots = store.world.slots
    if "project_id" in values:
        _in_range("project_id", values["project_id"], 1, 2**31 - 1)
    if "duration_minutes" in values:
        _in_range("duration_minutes", values["duration_minutes"], 1, 2**15 - 1)
    if "project_id" in values:
        slots.project_id[index] = values["project_id"]
    if "duration_minutes" in values:
        slots.duration[index] = values["duration_minutes"]
    if "date" in values:
        slots.day[index] = (dt.date.fromisoformat(values["date"]) - EPOCH).days
    if "time" in values:
        hours, minutes = values["time"].split(":")
        slots.minute[index] = int(hours) * 60 + int(minutes)
    if "is_booked" in values:
        slots.booked[index] = values["is_booked"]
    store.render_slot(index)
