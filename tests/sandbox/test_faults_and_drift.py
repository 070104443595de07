"""Faults (switched through the admin API) and drift, over real HTTP against a private sandbox."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from kontur.models import feed_item_adapter


def test_429_carries_retry_after_and_the_error_body(clean, api, error_of):
    clean.set_faults(rate_limit=1.0, retry_after=3)
    response = api.get("/cities")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert error_of(response)["code"] == "rate_limited"
    # Admin and health are never faulted.
    assert clean.stats()["faults"]["rate_limit"] == 1.0


def test_server_errors_are_500_or_503(clean, api, error_of, own_sandbox):
    clean.set_faults(server_error=1.0)
    statuses = {api.get("/cities").status_code for _ in range(12)}
    assert statuses <= {500, 503}
    assert statuses
    assert httpx.get(own_sandbox.root_url + "/health").status_code == 200
    clean.clear_faults()
    assert api.get("/cities").status_code == 200


def test_dropped_connections(clean, own_sandbox):
    clean.set_faults(drop=1.0)
    headers = {"Authorization": f"Bearer {own_sandbox.token}"}
    with (
        httpx.Client(base_url=own_sandbox.api_url, headers=headers) as client,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        client.get("/cities")
    clean.clear_faults()


def test_latency_still_answers(clean, api):
    clean.set_faults(latency_ms=20)
    assert api.get("/cities").status_code == 200


def test_malformed_records_are_stable_and_absent_from_the_export(clean, api, fetch_all):
    clean.set_faults(malformed=0.1)
    first, _ = fetch_all(api, "premises", limit=500)
    second, _ = fetch_all(api, "premises", limit=500)
    assert first == second, "refetching breaks the same records"
    adapter = feed_item_adapter("premises")
    broken = []
    for item in first:
        try:
            adapter.validate_python(item)
        except ValueError:
            broken.append(item)
    assert 0.03 * len(first) < len(broken) < 0.2 * len(first)
    for record in clean.records("premises"):
        adapter.validate_python(record)
    assert len(clean.records("premises")) == len(first)


def test_unknown_fault_is_refused(clean):
    with pytest.raises(httpx.HTTPStatusError):
        clean.set_faults(gremlins=0.5)
    with pytest.raises(httpx.HTTPStatusError):
        clean.set_faults(server_error=2)


def test_drift_shows_up_in_the_incremental_feed(clean, api, fetch_all):
    since = {e: clean.stats()["last_updated_at"][e] for e in ("premises", "leads", "time-slots")}
    counts = clean.drift(400, seed=3)
    assert counts["premises"] > 0
    assert counts["leads"] > 0
    assert counts["time-slots"] > 0
    for entity, ts in since.items():
        later, _ = fetch_all(api, entity, limit=100, updated_since=ts)
        assert all(datetime.fromisoformat(i["updated_at"]) > datetime.fromisoformat(ts) for i in later)
        # One entry per changed record: a record changed twice shows once, in its last version.
        assert 0 < len(later) <= counts[entity]
        assert len({i["id"] for i in later}) == len(later)
    premises, _ = fetch_all(api, "premises", updated_since=since["premises"])
    tombstones = [i for i in premises if i.get("deleted")]
    assert tombstones, "drift withdraws some premises"
    assert set(tombstones[0]) == {"id", "updated_at", "deleted"}
    snapshot_ids = {i["id"] for i in fetch_all(api, "premises")[0]}
    assert not snapshot_ids & {t["id"] for t in tombstones}, "a snapshot holds no tombstones"
    leads = clean.records("leads")
    assert len(leads) > 10_000 - 1  # new leads were added
    # The export agrees with the feed: changed records carry their new version.
    exported = {r["id"]: r for r in clean.records("premises")}
    for item in premises:
        if not item.get("deleted"):
            assert exported[item["id"]] == item


def test_reset_restores_the_generated_world(clean, api):
    clean.reset()  # earlier tests of this module drifted the data
    before = clean.records("premises")
    clean.drift(50, seed=9)
    assert clean.records("premises") != before
    stale = api.get("/premises", params={"limit": 5}).json()["next_cursor"]
    clean.reset()
    assert clean.records("premises") == before
    assert api.get("/premises", params={"cursor": stale}).status_code == 400
