"""Wire models: exact wire shapes by alias, unknown fields ignored, clear errors, tombstones, enums."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest
from pydantic import ValidationError

from kontur.models import (
    ENTITIES,
    FUNNEL_STAGES,
    INBOUND_MODELS,
    OUTCOME_STAGES,
    Agency,
    Booking,
    Building,
    City,
    Client,
    Feature,
    FixingType,
    Lead,
    LeadStage,
    LeadState,
    Premise,
    PremiseType,
    Project,
    PurchaseOption,
    RequestStatus,
    Section,
    TimeSlot,
    Tombstone,
    User,
    UserRole,
    Visit,
    feed_item_adapter,
)

TS = "2026-11-20T10:15:30+05:00"

# One wire-exact example per record (contract section 4): what Brusnika sends, keys as on the wire.
WIRE: dict[type, dict] = {
    City: {"id": 1, "updated_at": TS, "deleted": False, "name": "Екатеринбург", "long": "60.6122",
           "lat": "56.8519"},
    Project: {"id": 2, "updated_at": TS, "deleted": False, "city_id": 1, "name": "Квартал Депо",
              "brief_description": "b", "detailed_description": "d", "description": "x",
              "end_date": "2027-12-31", "photo": "https://p/1.jpg", "link": "https://l/1"},
    Building: {"id": 3, "updated_at": TS, "deleted": False, "project_id": 2, "address": "ул. Мира, 1",
               "number_of_floors": 17, "brief_description": "b", "detailed_description": "d",
               "total_apartment": "120", "total_parking_space": "40", "total_storage": "30",
               "total_commercial": "4"},
    Section: {"id": 4, "updated_at": TS, "deleted": False, "building_id": 3, "number": 1, "name": "Секция 1",
              "number_of_floors": 17, "premises_per_floor": 6},
    Premise: {"id": 5, "updated_at": TS, "deleted": False, "project_id": 2, "building_id": 3, "section_id": 4,
              "number": "124", "type": "apartment", "rooms": 2, "size": 54.3, "price": 3_000_000_000,
              "floor": -1, "feature": ["sign_balcony", "sign_exchange_rf"], "photos": ["https://p/2.jpg"],
              "is_booked": False, "purchase_option": ["mortage", "full_payment"], "is_sold": False},
    Lead: {"id": 6, "updated_at": TS, "deleted": False, "client_id": 10, "project_id": 2, "premise_id": None,
           "state": "На паузе", "current_status": "заявка на договор", "sign_nps_passed": True,
           "fee": 12500.5, "start_date": "2026-03-01", "status_updated_at": TS, "agent_id": 7,
           "manager_id": None},
    TimeSlot: {"id": 7, "updated_at": TS, "deleted": False, "project_id": 2, "date": "2026-12-01",
               "time": "14:30", "duration_minutes": 60, "is_booked": False},
    User: {"id": 8, "lastName": "Иванова", "firstName": "Анна", "phone": "+79990001122", "email": "a@b.ru",
           "status": "active", "role": "AGENT", "temporary_role": "MANAGER", "city_id": 1,
           "birthDate": "1990-05-04", "agency_id": 9, "workStartDate": "2020-01-10",
           "avatar": "https://a/1.png", "remaining_user_creation_limit": 3},
    Agency: {"id": 9, "title": "Агентство", "city_id": 1, "legalName": "ООО Агентство", "inn": "7707083893",
             "phone": "+73430000000", "email": "x@y.ru", "ownerFullName": "Петров Пётр Петрович",
             "ownerPhone": "+79990000000"},
    Client: {"id": 10, "fullname": "Сидоров Иван Ильич", "phone_number": "+79991234567", "comment": "",
             "agent_id": 7, "actived_date": TS, "fixing_type_updated_at": TS, "expiration_date": TS,
             "fixing_type": "отказ в закреплении"},
    Booking: {"id": 11, "premise_id": 5, "client_id": 10, "agent_id": 7, "date": "2026-12-02",
              "time": "09:00", "purchase_option": "mortage", "status": "open"},
    Visit: {"id": 12, "project_id": 2, "agent_id": 7, "client_id": 10, "date": "2026-12-01", "time": "14:30",
            "time_slot_id": 7, "request_date": TS, "request_time": TS, "status": "success"},
}  # fmt: skip


def _normalise(value: object) -> object:
    # Timestamps compare as instants; the rest compares as JSON.
    return orjson.loads(orjson.dumps(value))


@pytest.mark.parametrize("model", list(WIRE), ids=lambda m: m.__name__)
def test_round_trip_by_alias(model: type) -> None:
    wire = WIRE[model]
    instance = model.model_validate_json(orjson.dumps(wire))
    dumped = instance.to_wire()
    assert set(dumped) == set(wire), "wire keys must be exactly the contract's"
    for key, value in wire.items():
        if isinstance(value, str) and value == TS:
            assert dt.datetime.fromisoformat(dumped[key]) == dt.datetime.fromisoformat(TS)
        else:
            assert _normalise(dumped[key]) == _normalise(value), key
    # And back again: the dump validates to an equal model.
    assert model.model_validate(dumped) == instance


def test_aliases_used_on_the_wire() -> None:
    user = User.model_validate(WIRE[User])
    assert user.last_name == "Иванова"
    assert user.birth_date == dt.date(1990, 5, 4)
    assert "lastName" in user.to_wire()
    assert "last_name" not in user.to_wire()
    agency = Agency.model_validate(WIRE[Agency])
    assert agency.legal_name == "ООО Агентство"
    assert {"legalName", "ownerFullName", "ownerPhone"} <= set(agency.to_wire())


@pytest.mark.parametrize("model", list(WIRE), ids=lambda m: m.__name__)
def test_extra_fields_ignored(model: type) -> None:
    instance = model.model_validate({**WIRE[model], "brand_new_field": {"x": 1}, "another": [1]})
    assert "brand_new_field" not in instance.to_wire()
    assert not hasattr(instance, "brand_new_field")


@pytest.mark.parametrize(
    ("model", "field", "bad"),
    [
        (Premise, "price", "дорого"),
        (Premise, "type", "villa"),
        (Premise, "purchase_option", ["mortgage"]),  # the contract spells it `mortage`
        (Lead, "current_status", "Открыта"),
        (TimeSlot, "time", "25:00"),
        (City, "lat", "north"),
        (Building, "number_of_floors", "many"),
        (Client, "phone_number", "89991234567"),
    ],
)
def test_wrong_type_fails_naming_the_field(model: type, field: str, bad: object) -> None:
    with pytest.raises(ValidationError) as excinfo:
        model.model_validate({**WIRE[model], field: bad})
    assert field in {str(err["loc"][0]) for err in excinfo.value.errors()}
    assert field in str(excinfo.value)


def test_missing_field_is_named() -> None:
    wire = dict(WIRE[Premise])
    del wire["section_id"]
    with pytest.raises(ValidationError, match="section_id"):
        Premise.model_validate(wire)


def test_naive_timestamps_refused() -> None:
    with pytest.raises(ValidationError, match="updated_at"):
        City.model_validate({**WIRE[City], "updated_at": "2026-11-20T10:15:30"})


@pytest.mark.parametrize("entity", ENTITIES)
def test_tombstone_discrimination(entity: str) -> None:
    adapter = feed_item_adapter(entity)
    model = INBOUND_MODELS[entity]
    live = adapter.validate_json(orjson.dumps(WIRE[model]))
    assert type(live) is model
    # A tombstone carries only id and updated_at: it must not be validated as a (broken) record.
    dead = adapter.validate_json(b'{"id": 42, "updated_at": "2026-11-21T00:00:00Z", "deleted": true}')
    assert type(dead) is Tombstone
    assert dead.id == 42
    assert dead.deleted is True
    # A record without `deleted` is live, and a live record missing fields is an error, not a tombstone.
    assert type(adapter.validate_python({k: v for k, v in WIRE[model].items() if k != "deleted"})) is model
    with pytest.raises(ValidationError):
        adapter.validate_python({"id": 42, "updated_at": TS})


def test_feed_adapter_is_cached() -> None:
    assert feed_item_adapter("premises") is feed_item_adapter("premises")


def test_enum_values_are_wire_exact() -> None:
    assert {e.value for e in PremiseType} == {"apartment", "storeroom", "parking", "commercial"}
    assert {e.value for e in PurchaseOption} == {"mortage", "installment", "bill", "full_payment"}
    assert {e.value for e in LeadState} == {"Активные", "На паузе", "Проиграна", "Выиграна"}
    assert {e.value for e in FixingType} == {
        "проверка лида",
        "отказ в закреплении",
        "слабое закрепление",
        "сильное закрепление",
    }
    assert {e.value for e in RequestStatus} == {"open", "success", "fail"}
    assert {e.value for e in UserRole} == {
        "ADMIN", "AGENT", "MANAGER", "NEW_MEMBER", "HEAD_OF_AGENCY", "OZK_MANAGER", "AFFILIATE_MANAGER",
    }  # fmt: skip
    assert len(LeadStage) == 12
    assert set(FUNNEL_STAGES) | set(OUTCOME_STAGES) == set(LeadStage)
    assert len(Feature) == 22
    assert all(f.value.startswith("sign_") for f in Feature)
    # Values survive a dump as plain strings, not enum reprs.
    premise = Premise.model_validate(WIRE[Premise])
    assert premise.to_wire()["purchase_option"] == ["mortage", "full_payment"]
    assert premise.type is PremiseType.APARTMENT


def test_big_prices_and_negative_floors() -> None:
    premise = Premise.model_validate(WIRE[Premise])
    assert premise.price == 3_000_000_000
    assert premise.floor == -1
