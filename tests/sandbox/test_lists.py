"""Inbound lists over real HTTP: pagination, updated_since, errors, auth, determinism, scale."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import httpx
import pytest

from kontur.models import ENTITIES, feed_item_adapter
from kontur.sandbox.server import RunningSandbox


@pytest.fixture
def shared(sandbox: RunningSandbox):
    with httpx.Client(
        base_url=sandbox.api_url, timeout=30, headers={"Authorization": f"Bearer {sandbox.token}"}
    ) as client:
        yield client


@pytest.mark.parametrize("entity", ENTITIES)
def test_pages_return_every_record_exactly_once(own_sandbox, api, fetch_all, entity):
    truth = own_sandbox.admin().records(entity)
    items, pages = fetch_all(api, entity, limit=37)
    ids = [i["id"] for i in items]
    assert len(ids) == len(set(ids)), "a record came twice"
    assert sorted(ids) == sorted(r["id"] for r in truth)
    assert pages == -(-len(truth) // 37) or pages == -(-len(truth) // 37) + 1
    # Ordered by (updated_at, id), and every item is a valid wire record.
    keys = [(datetime.fromisoformat(i["updated_at"]), i["id"]) for i in items]
    assert keys == sorted(keys)
    adapter = feed_item_adapter(entity)
    for item in items[:200]:
        assert not adapter.validate_python(item).deleted


def test_default_page_size_is_500_and_limits_are_honoured(api):
    assert len(api.get("/leads").json()["items"]) == 500
    assert len(api.get("/leads", params={"limit": 1}).json()["items"]) == 1
    assert len(api.get("/leads", params={"limit": 1000}).json()["items"]) == 1000


def test_updated_since_returns_only_later_records(api, fetch_all):
    everything, _ = fetch_all(api, "premises")
    middle = sorted(i["updated_at"] for i in everything)[len(everything) // 2]
    later, _ = fetch_all(api, "premises", limit=100, updated_since=middle)
    cut = datetime.fromisoformat(middle)
    assert later, "half of the premises are later than the median"
    assert all(datetime.fromisoformat(i["updated_at"]) > cut for i in later)
    expected = {i["id"] for i in everything if datetime.fromisoformat(i["updated_at"]) > cut}
    assert {i["id"] for i in later} == expected


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 1001},
        {"limit": "ten"},
        {"updated_since": "yesterday"},
        {"updated_since": "2026-01-01T00:00:00"},  # no offset
        {"cursor": "not-a-cursor"},
    ],
)
def test_bad_list_parameters_answer_400(api, error_of, params):
    response = api.get("/premises", params=params)
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_request"


def test_tampered_or_foreign_cursor_answers_400(api, error_of):
    cursor = api.get("/premises", params={"limit": 5}).json()["next_cursor"]
    assert api.get("/premises", params={"limit": 5, "cursor": cursor}).status_code == 200
    flipped = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    assert error_of(api.get("/premises", params={"cursor": flipped}))["code"] == "bad_request"
    # A cursor of one list is not valid for another.
    assert api.get("/leads", params={"cursor": cursor}).status_code == 400


def test_auth_is_required_on_every_api_call(own_sandbox, error_of):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": own_sandbox.token}):
        response = httpx.get(own_sandbox.api_url + "/cities", headers=headers)
        assert response.status_code == 401
        assert error_of(response)["code"] == "unauthorized"
    response = httpx.post(own_sandbox.api_url + "/bookings", json={})
    assert response.status_code == 401
    assert httpx.get(own_sandbox.root_url + "/health").json() == {"status": "ok"}
    assert httpx.get(own_sandbox.root_url + "/admin/stats").status_code == 401


def test_unknown_route_has_the_error_body(api, error_of):
    response = api.get("/nothing-here")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_same_seed_and_scale_give_the_same_data(sandboxes):
    args = ("--today", "2026-03-02")
    with sandboxes(scale=0.01, seed=5, extra_args=args) as first:
        with sandboxes(scale=0.01, seed=5, extra_args=args) as second:
            for entity in ENTITIES:
                assert first.admin().records(entity) == second.admin().records(entity), entity
            assert first.admin().users() == second.admin().users()
        with sandboxes(scale=0.01, seed=6, extra_args=args) as other:
            assert other.admin().records("premises") != first.admin().records("premises")


def test_generated_world_looks_like_brusnika(sandbox):
    admin = sandbox.admin()
    cities = admin.records("cities")
    assert {"Екатеринбург", "Тюмень", "Москва", "Новосибирск"} <= {c["name"] for c in cities}
    assert len(cities) == 10
    projects = admin.records("projects")
    assert len(projects) >= 10
    assert {p["city_id"] for p in projects} == {c["id"] for c in cities}
    buildings = admin.records("buildings")
    assert all(9 <= b["number_of_floors"] <= 25 for b in buildings)
    premises = admin.records("premises")
    assert 1_500 <= len(premises) <= 5_000  # scale 0.02 of 100,000
    types = Counter(p["type"] for p in premises)
    assert set(types) == {"apartment", "parking", "storeroom", "commercial"}
    assert types["apartment"] > sum(types.values()) / 2
    assert all(
        p["floor"] < 0 or "sign_ground_parking" in p["feature"] for p in premises if p["type"] == "parking"
    )
    assert all(p["rooms"] == 0 for p in premises if p["type"] != "apartment")
    # Free counts per building are what the premises say.
    for b in buildings:
        free = [
            p for p in premises if p["building_id"] == b["id"] and not p["is_booked"] and not p["is_sold"]
        ]
        assert int(b["total_apartment"]) == sum(p["type"] == "apartment" for p in free)
        assert int(b["total_parking_space"]) == sum(p["type"] == "parking" for p in free)
    # Price per m² rises with the floor within a building.
    apartments = [p for p in premises if p["type"] == "apartment" and p["building_id"] == 1]
    low = [p["price"] / p["size"] for p in apartments if p["floor"] <= 3]
    high = [p["price"] / p["size"] for p in apartments if p["floor"] >= 9]
    assert sum(high) / len(high) > sum(low) / len(low)
    # Moscow is dearer than Kurgan.
    leads = admin.records("leads")
    assert len(leads) == 10_000
    stages = Counter(lead["current_status"] for lead in leads)
    assert stages["открыта"] > stages["бронь"] > stages["договор зарегистрирован"]
    assert stages["проиграна"] > 0
    assert stages["слетевшая бронь"] > 0
    for lead in leads[:2000]:
        if lead["current_status"] == "выиграна":
            assert lead["state"] == "Выиграна"
        if lead["current_status"] == "проиграна":
            assert lead["state"] == "Проиграна"
    users = admin.users()
    assert any(u["status"] == "blocked" for u in users)
    assert {"AGENT", "MANAGER", "HEAD_OF_AGENCY"} <= {u["role"] for u in users}
    assert len(admin.records("time-slots")) >= 200


def test_city_prices_differ(sandbox):
    admin = sandbox.admin()
    projects = {p["id"]: p["city_id"] for p in admin.records("projects")}
    cities = {c["name"]: c["id"] for c in admin.records("cities")}
    per_city: dict[int, list[float]] = {}
    for p in admin.records("premises"):
        if p["type"] == "apartment":
            per_city.setdefault(projects[p["project_id"]], []).append(p["price"] / p["size"])

    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    assert mean(per_city[cities["Москва"]]) > 2 * mean(per_city[cities["Курган"]])


def test_shared_sandbox_serves_pages(shared):
    body = shared.get("/cities").json()
    assert len(body["items"]) == 10
    assert body["next_cursor"] is None
