"""The admin record API: read one record, patch wire fields (validated by the wire model, served
again with a new updated_at), delete (a tombstone). Over real HTTP against a private sandbox, and
through a real incremental sync into DuckDB."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from kontur.models import feed_item_adapter
from tests.support.sandbox_records import free_premise

from .conftest import cache_query, sync_into


@pytest.fixture
def admin(own_sandbox):
    with own_sandbox.admin() as client:
        yield client


def _ts(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(record["updated_at"])


def _refused(call: Any, status: int = 422) -> dict[str, Any]:
    with pytest.raises(httpx.HTTPStatusError) as refused:
        call()
    assert refused.value.response.status_code == status
    return refused.value.response.json()["error"]


def test_patched_premise_is_served_with_a_new_updated_at_and_moves_building_totals(admin):
    premise = free_premise(admin, kind="apartment")
    building = admin.record("buildings", premise["building_id"])
    photos = ["/media/premises/1.svg", "/media/premises/1/floor.svg", "https://cdn.example/v.jpg"]
    patched = admin.patch_record(
        "premises", premise["id"], photos=photos, price=3_100_000_000, is_booked=True
    )
    assert _ts(patched) > _ts(premise)
    assert (patched["photos"], patched["price"], patched["is_booked"]) == (photos, 3_100_000_000, True)
    assert {k: v for k, v in patched.items() if k not in ("photos", "price", "is_booked", "updated_at")} == {
        k: v for k, v in premise.items() if k not in ("photos", "price", "is_booked", "updated_at")
    }
    assert admin.record("premises", premise["id"]) == patched
    feed_item_adapter("premises").validate_python(patched)
    # Brusnika's free counts follow: one apartment fewer, served again later.
    after = admin.record("buildings", premise["building_id"])
    assert int(after["total_apartment"]) == int(building["total_apartment"]) - 1
    assert _ts(after) > _ts(building)
    sold = admin.patch_record("premises", premise["id"], is_booked=False, is_sold=True)
    assert (sold["is_booked"], sold["is_sold"]) == (False, True)
    assert admin.record("buildings", premise["building_id"])["total_apartment"] == after["total_apartment"]


def test_building_totals_set_by_patch_stay_brusnikas_own(admin):
    premise = free_premise(admin, kind="apartment", skip=3)
    building_id = premise["building_id"]
    patched = admin.patch_record("buildings", building_id, total_apartment="999", total_storage="0")
    assert (patched["total_apartment"], patched["total_storage"]) == ("999", "0")
    admin.patch_record("premises", premise["id"], is_booked=True)  # frees one apartment fewer
    assert admin.record("buildings", building_id)["total_apartment"] == "999"


def test_a_patch_that_breaks_the_contract_changes_nothing(admin):
    premise = free_premise(admin, kind="apartment", skip=5)
    for changes, field in (
        ({"type": "castle"}, "type"),
        ({"size": -1}, "size"),
        ({"feature": ["sign_jacuzzi"]}, "feature"),
        ({"rooms": "two"}, "rooms"),
        ({"colour": "red"}, "colour"),
        ({"id": 5}, "id"),
        ({"updated_at": "2026-01-01T00:00:00Z"}, "updated_at"),
        ({"is_booked": True, "is_sold": True}, "is_sold"),
        ({"rooms": 300}, "rooms"),
    ):
        error = _refused(lambda c=changes: admin.patch_record("premises", premise["id"], **c))
        assert error["code"] == "validation_error"
        assert any(d["field"].startswith(field) for d in error["details"]), (changes, error)
    assert admin.record("premises", premise["id"]) == premise
    building = admin.records("buildings")[0]
    _refused(lambda: admin.patch_record("buildings", building["id"], total_apartment="many"))
    _refused(lambda: admin.patch_record("cities", 1, lat="north"))
    assert _refused(lambda: admin.patch_record("premises", 10**9, price=1), 404)["code"] == "not_found"
    assert _refused(lambda: admin.patch_record("castles", 1, price=1), 404)["code"] == "not_found"


def test_lead_state_follows_its_stage_and_nullable_fields_take_null(admin):
    lead = next(
        r for r in admin.records("leads") if r["current_status"] == "открыта" and r["manager_id"] is not None
    )
    won = admin.patch_record("leads", lead["id"], current_status="выиграна", manager_id=None)
    assert (won["current_status"], won["state"], won["manager_id"]) == ("выиграна", "Выиграна", None)
    error = _refused(lambda: admin.patch_record("leads", lead["id"], state="Активные"))
    assert error["details"][0]["field"] == "state"
    assert admin.record("leads", lead["id"]) == won


def test_time_slot_patch_and_small_record_text(admin):
    slot = admin.records("time-slots")[0]
    moved = admin.patch_record("time-slots", slot["id"], date="2026-01-05", time="09:15", is_booked=True)
    assert (moved["date"], moved["time"], moved["is_booked"]) == ("2026-01-05", "09:15", True)
    city = admin.patch_record("cities", 2, name="Новый Уренгой", lat="66.0833")
    assert (city["name"], city["lat"]) == ("Новый Уренгой", "66.0833")


def test_delete_serves_a_tombstone_and_the_record_stays_withdrawn(admin, own_sandbox, api, fetch_all):
    since = admin.stats()["last_updated_at"]["buildings"]
    premise = free_premise(admin, kind="apartment", skip=8)
    building_id = premise["building_id"]
    tombstone = admin.delete_record("buildings", building_id)
    assert set(tombstone) == {"id", "updated_at", "deleted"}
    assert tombstone["deleted"] is True
    assert _refused(lambda: admin.record("buildings", building_id), 404)["code"] == "not_found"
    assert _refused(lambda: admin.delete_record("buildings", building_id), 404)["code"] == "not_found"
    # A change to one of its premises would re-serve the building's totals: it stays withdrawn.
    admin.patch_record("premises", premise["id"], is_booked=True)
    assert building_id not in {b["id"] for b in admin.records("buildings")}
    changed, _ = fetch_all(api, "buildings", updated_since=since)
    assert [b for b in changed if b["id"] == building_id] == [tombstone]
    lead = admin.records("leads")[0]
    admin.delete_record("leads", lead["id"])
    admin.drift(500, seed=12)  # drift moves leads: never a withdrawn one
    assert lead["id"] not in {r["id"] for r in admin.records("leads")}


def test_patches_and_deletes_reach_an_incremental_sync(tmp_path: Path, sandboxes):
    with sandboxes(scale=0.01, seed=77) as running, running.admin() as admin:
        cache_file = tmp_path / "patched.duckdb"
        assert sync_into(cache_file, running).ok
        premise = free_premise(admin, kind="apartment")
        admin.patch_record("premises", premise["id"], photos=[], feature=[], price=2**33)
        slot = admin.records("time-slots")[1]
        admin.delete_record("time-slots", slot["id"])
        result = sync_into(cache_file, running)
        assert result.ok, result.error
        assert set(result.modes.values()) == {"incremental"}
        assert cache_query(
            cache_file, "SELECT photos, feature, price FROM premises WHERE id = ?", [premise["id"]]
        ) == [([], [], 2**33)]
        assert cache_query(cache_file, "SELECT count(*) FROM time_slots WHERE id = ?", [slot["id"]]) == [(0,)]
