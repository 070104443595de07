"""Edge-cases mode (`--edge-cases`): the records the contract allows but the generator never makes,
named through `/admin/edge-cases`, added beside an otherwise unchanged world, left alone by drift,
and loaded by a full sync into a real DuckDB file with zero rejects."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

from kontur.models import ENTITIES, feed_item_adapter
from kontur.sandbox import hostile
from kontur.sandbox.server import RunningSandbox
from tests.support.sandboxes import SandboxFactory

from .conftest import cache_query, sync_into

SEED = 41
TODAY = "2026-11-20"


@pytest.fixture(scope="module")
def edge_sandbox(module_sandboxes: SandboxFactory) -> RunningSandbox:
    return module_sandboxes(scale=0.01, seed=SEED, edge_cases=True, today=TODAY)


@pytest.fixture(scope="module")
def edge(edge_sandbox: RunningSandbox) -> dict[str, int]:
    return edge_sandbox.admin().edge_cases()


def _premise_keys(edge: dict[str, int]) -> list[str]:
    return [k for k in edge if k.endswith("_premise") and not k.startswith("lead_")]


def _by_id(records: list[dict]) -> dict[int, dict]:
    return {r["id"]: r for r in records}


def test_each_named_record_is_the_edge_case_it_names(edge_sandbox, edge):
    admin = edge_sandbox.admin()
    premises = _by_id(admin.records("premises"))
    assert premises[edge["empty_photos_premise"]]["photos"] == []
    assert premises[edge["empty_features_premise"]]["feature"] == []
    assert premises[edge["empty_purchase_premise"]]["purchase_option"] == []
    three = premises[edge["three_photos_premise"]]["photos"]
    assert len(three) == 3
    for url in three:
        assert httpx.get(urljoin(edge_sandbox.root_url, url), timeout=30).status_code == 200
    zero_rooms = premises[edge["zero_rooms_premise"]]
    assert (zero_rooms["type"], zero_rooms["rooms"]) == ("apartment", 0)
    assert premises[edge["zero_size_premise"]]["size"] == 0
    assert premises[edge["huge_price_premise"]]["price"] > 2**31
    assert premises[edge["negative_floor_premise"]]["floor"] < -1

    mismatch = admin.record("buildings", edge["totals_mismatch_building"])
    free = [
        p
        for p in premises.values()
        if p["building_id"] == mismatch["id"] and not p["is_booked"] and not p["is_sold"]
    ]
    computed = {
        "total_apartment": "apartment",
        "total_parking_space": "parking",
        "total_storage": "storeroom",
        "total_commercial": "commercial",
    }
    for field, kind in computed.items():
        assert int(mismatch[field]) != sum(p["type"] == kind for p in free), field

    assert not [s for s in admin.records("sections") if s["building_id"] == edge["empty_building"]]
    assert not [p for p in premises.values() if p["building_id"] == edge["empty_building"]]
    assert not [b for b in admin.records("buildings") if b["project_id"] == edge["empty_project"]]
    blank = admin.record("projects", edge["blank_urls_project"])
    assert (blank["photo"], blank["link"], blank["detailed_description"]) == ("", "", "")
    single = admin.record("sections", edge["single_floor_section"])
    assert single["number_of_floors"] == 1
    assert {p["floor"] for p in premises.values() if p["section_id"] == single["id"]} == {1}

    leads = _by_id(admin.records("leads"))
    nulls = leads[edge["lead_without_premise_or_manager"]]
    assert (nulls["premise_id"], nulls["manager_id"]) == (None, None)
    stranger = leads[edge["lead_of_unknown_agent"]]
    assert stranger["agent_id"] == edge["unknown_agent"]
    assert edge["unknown_agent"] not in {u["id"] for u in admin.users()}
    assert leads[edge["lead_on_edge_premise"]]["premise_id"] == edge["empty_photos_premise"]

    slots = _by_id(admin.records("time-slots"))
    today = date.fromisoformat(TODAY)
    assert date.fromisoformat(slots[edge["past_slot"]]["date"]) < today
    assert slots[edge["past_slot"]]["is_booked"] is False
    assert date.fromisoformat(slots[edge["past_booked_slot"]]["date"]) < today
    assert slots[edge["past_booked_slot"]]["is_booked"] is True
    for entity in ENTITIES:  # every record, edge cases included, is contract-valid
        adapter = feed_item_adapter(entity)
        for record in admin.records(entity):
            adapter.validate_python(record)


def test_the_rest_of_the_world_is_the_generated_one(edge_sandbox, edge, sandboxes):
    with sandboxes(scale=0.01, seed=SEED, today=TODAY) as plain:
        with pytest.raises(httpx.HTTPStatusError) as refused:
            plain.admin().edge_cases()
        assert refused.value.response.status_code == 404
        assert "--edge-cases" in refused.value.response.json()["error"]["message"]
        for entity in ENTITIES:
            ours = _by_id(edge_sandbox.admin().records(entity))
            theirs = _by_id(plain.admin().records(entity))
            assert set(theirs) <= set(ours), entity
            assert (set(theirs) < set(ours)) == (entity != "cities"), entity  # edge records added
            assert {i: ours[i] for i in theirs} == theirs, entity


def test_drift_leaves_the_edge_records_alone(edge_sandbox, edge):
    admin = edge_sandbox.admin()
    names = {
        "premises": _premise_keys(edge),
        "leads": [k for k in edge if k.startswith("lead_")],
        "time-slots": ["past_slot", "past_booked_slot"],
    }
    before = {e: [admin.record(e, edge[k]) for k in keys] for e, keys in names.items()}
    try:
        counts = admin.drift(3000, seed=5)
        assert counts["premises"] > 500
        assert {e: [admin.record(e, edge[k]) for k in keys] for e, keys in names.items()} == before
    finally:
        admin.reset()  # the module's other tests compare with the generated world
    assert admin.edge_cases() == edge


def test_edge_world_full_syncs_with_zero_rejects(edge_sandbox, edge, tmp_path: Path):
    cache_file = tmp_path / "edge.duckdb"
    result = sync_into(cache_file, edge_sandbox, mode="full")
    assert result.ok, result.error
    assert {e: c.rejected for e, c in result.entities.items()} == dict.fromkeys(ENTITIES, 0)
    assert cache_query(cache_file, "SELECT count(*) FROM rejected_records") == [(0,)]
    premise_ids = [edge[k] for k in _premise_keys(edge)]
    cached = {
        row[0]: row[1:]
        for row in cache_query(
            cache_file,
            "SELECT id, photos, feature, purchase_option, size, price, floor, rooms FROM premises "
            "WHERE list_contains(?, id)",
            [premise_ids],
        )
    }
    served = _by_id(edge_sandbox.admin().records("premises"))
    assert cached == {
        i: (
            served[i]["photos"],
            served[i]["feature"],
            served[i]["purchase_option"],
            served[i]["size"],
            served[i]["price"],
            served[i]["floor"],
            served[i]["rooms"],
        )
        for i in premise_ids
    }
    lead = cache_query(
        cache_file,
        "SELECT premise_id, manager_id FROM leads WHERE id = ?",
        [edge["lead_without_premise_or_manager"]],
    )
    assert lead == [(None, None)]
    assert cache_query(
        cache_file, "SELECT count(*) FROM buildings WHERE id = ?", [edge["empty_building"]]
    ) == [(1,)]


def test_edge_records_keep_what_they_are_in_a_hostile_world(sandboxes):
    with sandboxes(scale=0.005, seed=SEED, edge_cases=True, hostile=True, today=TODAY) as both:
        admin = both.admin()
        edge = admin.edge_cases()
        blank = admin.record("projects", edge["blank_urls_project"])
        assert (blank["photo"], blank["link"], blank["detailed_description"]) == ("", "", "")
        assert admin.record("premises", edge["empty_photos_premise"])["photos"] == []
        assert admin.record("premises", edge["empty_purchase_premise"])["purchase_option"] == []
        three = admin.record("premises", edge["three_photos_premise"])
        assert len(three["photos"]) == 3
        assert not any(hostile.is_hostile(u) for u in three["photos"])
        for entity in ENTITIES:
            adapter = feed_item_adapter(entity)
            for record in admin.records(entity):
                adapter.validate_python(record)
