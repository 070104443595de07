"""Precise malformed records (`/admin/faults {"malformed_ids": ...}`): exactly the chosen records are
served broken, in the chosen way, on the REST lists until cleared; a real sync rejects exactly them
and loads them once cleared."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from kontur.models import ENTITIES, feed_item_adapter

from .conftest import cache_query, sync_into

KINDS = ("id", "updated_at", "field", "missing")


def test_chosen_records_are_broken_in_the_chosen_way_until_cleared(clean, api, fetch_all):
    ids = [p["id"] for p in clean.records("premises")[10:14]]
    chosen = dict(zip(ids, KINDS, strict=True))
    faults = clean.set_faults(malformed_ids={"premises": chosen})
    assert faults["malformed_ids"] == {"premises": {str(i): k for i, k in chosen.items()}}
    served, _ = fetch_all(api, "premises", limit=700)
    adapter = feed_item_adapter("premises")
    broken = []
    for item in served:
        try:
            adapter.validate_python(item)
        except ValueError:
            broken.append(item)
    assert len(broken) == 4
    truth = {r["id"]: r for r in clean.records("premises")}
    (by_id,) = [b for b in broken if b["id"] == f"id-{ids[0]}"]
    assert {k: v for k, v in by_id.items() if k != "id"} == {
        k: v for k, v in truth[ids[0]].items() if k != "id"
    }
    (stamp,) = [b for b in broken if b["id"] == ids[1]]
    assert stamp["updated_at"] == "not a timestamp"
    (typed,) = [b for b in broken if b["id"] == ids[2]]
    assert typed["price"] == "not a number"
    (missing,) = [b for b in broken if b["id"] == ids[3]]
    assert set(truth[ids[3]]) - set(missing) == {"project_id"}
    # The ground truth is never broken; other lists are untouched.
    for record in truth.values():
        adapter.validate_python(record)
    cities, _ = fetch_all(api, "cities")
    for city in cities:
        feed_item_adapter("cities").validate_python(city)
    clean.clear_faults()
    assert clean.faults()["malformed_ids"] == {}
    again, _ = fetch_all(api, "premises", limit=700)
    assert sorted(again, key=lambda r: r["id"]) == sorted(truth.values(), key=lambda r: r["id"])


def test_every_list_can_be_broken_by_field_type(clean, api):
    chosen = {entity: {str(clean.records(entity)[0]["id"]): "field"} for entity in ENTITIES}
    clean.set_faults(malformed_ids=chosen)
    for entity in ENTITIES:
        record_id = int(next(iter(chosen[entity])))
        items = api.get(f"/{entity}", params={"limit": 1000}).json()["items"]
        (item,) = [i for i in items if i["id"] == record_id]
        with pytest.raises(ValueError):  # noqa: PT011 (pydantic's ValidationError is a ValueError)
            feed_item_adapter(entity).validate_python(item)


def test_invalid_maps_are_refused_and_change_nothing(clean):
    clean.set_faults(malformed_ids={"premises": {"5": "id"}}, server_error=0.0)
    for bad in (
        {"castles": {"1": "id"}},
        {"premises": {"0": "id"}},
        {"premises": {"x": "id"}},
        {"premises": {"5": "scrambled"}},
        {"premises": ["5"]},
        ["premises"],
    ):
        with pytest.raises(httpx.HTTPStatusError) as refused:
            clean._call("POST", "/faults", json={"malformed_ids": bad, "server_error": 0.5})
        assert refused.value.response.status_code == 422
    faults = clean.faults()
    assert faults["malformed_ids"] == {"premises": {"5": "id"}}
    assert faults["server_error"] == 0.0, "a refused update changes nothing"


def test_a_sync_rejects_exactly_the_chosen_records_and_loads_them_once_cleared(tmp_path: Path, sandboxes):
    with sandboxes(scale=0.01, seed=63) as running, running.admin() as admin:
        cache_file = tmp_path / "malformed.duckdb"
        premises = admin.records("premises")
        chosen = {p["id"]: kind for p, kind in zip(premises[20:24], KINDS, strict=True)}
        admin.set_faults(malformed_ids={"premises": chosen, "leads": {7: "updated_at"}})
        result = sync_into(cache_file, running, mode="full")
        assert result.ok, result.error
        rejected = {e: c.rejected for e, c in result.entities.items()}
        assert rejected == {**dict.fromkeys(ENTITIES, 0), "premises": 4, "leads": 1}
        reasons = cache_query(cache_file, "SELECT entity, record_id, reason FROM rejected_records")
        assert len(reasons) == 5
        assert {r[1] for r in reasons if r[0] == "premises"} - {None} <= set(chosen)
        admin.clear_faults()
        result = sync_into(cache_file, running, mode="full")
        assert result.ok, result.error
        assert sum(c.rejected for c in result.entities.values()) == 0
        cached = dict(
            cache_query(
                cache_file, "SELECT id, price FROM premises WHERE list_contains(?, id)", [list(chosen)]
            )
        )
        assert cached == {p["id"]: p["price"] for p in premises[20:24]}

        # Incremental: changed upstream and broken -> rejected; changed again, healthy -> loaded.
        # (Drift alongside, so two rejects stay under the sync's rejected-share threshold.)
        changed = [p["id"] for p in premises[30:32]]
        admin.drift(600, seed=2)
        for premise_id in changed:
            admin.patch_record("premises", premise_id, price=1_234_000)
        admin.set_faults(malformed_ids={"premises": dict.fromkeys(changed, "field")})
        result = sync_into(cache_file, running)
        assert result.ok, result.error
        assert set(result.modes.values()) == {"incremental"}
        assert result.entities["premises"].rejected == 2
        admin.clear_faults()
        admin.drift(600, seed=3)
        for premise_id in changed:
            admin.patch_record("premises", premise_id, price=1_250_000)
        result = sync_into(cache_file, running)
        assert result.ok, result.error
        assert result.entities["premises"].rejected == 0
        assert dict(
            cache_query(cache_file, "SELECT id, price FROM premises WHERE list_contains(?, id)", [changed])
        ) == dict.fromkeys(changed, 1_250_000)
