"""The project card in AppTest on a sandbox with the edge-case records: «Срок сдачи», photo and link
through `safe_url`, buildings with floors, Brusnika's free counts beside the premises' counts, and a
mismatch flagged (the edge-case building, and one the sandbox's admin patches)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from kontur.sandbox.server import RunningSandbox, start_sandbox
from tests.support import ops_store
from tests.support.features import SEED, fill, no_exceptions, page, point_app_at, texts

TYPE_FIELDS = {
    "apartment": "total_apartment",
    "parking": "total_parking_space",
    "storeroom": "total_storage",
    "commercial": "total_commercial",
}


@pytest.fixture(scope="module")
def world() -> Iterator[RunningSandbox]:
    with start_sandbox(scale=0.01, seed=SEED, extra_args=("--edge-cases",)) as running:
        yield running


def _free_by_type(world: RunningSandbox, building_id: int) -> dict[str, int]:
    """Free premises of a building per type, from the sandbox's ground truth (not from the cache)."""
    counts = dict.fromkeys(TYPE_FIELDS, 0)
    for p in world.admin().records("premises"):
        if p["building_id"] == building_id and not p["is_booked"] and not p["is_sold"]:
            counts[p["type"]] += 1
    return counts


def _open(monkeypatch: pytest.MonkeyPatch, world: RunningSandbox, tmp_path: Path, project_id: int):
    cache = fill(world, tmp_path / "kontur.duckdb")
    url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    ops_store.seed_url(url, world.admin().users())  # someone to act as (the picker's first administrator)
    point_app_at(monkeypatch, world, cache, url)
    at = page("pages/project.py")
    at.session_state["scope_project_id"] = project_id
    at.run()
    no_exceptions(at)
    return at


def test_card_shows_completion_date_and_flags_the_edge_case_mismatch(
    monkeypatch: pytest.MonkeyPatch, world: RunningSandbox, tmp_path: Path
) -> None:
    admin = world.admin()
    edge = admin.edge_cases()
    project = admin.record("projects", edge["edge_project"])
    building = admin.record("buildings", edge["totals_mismatch_building"])
    at = _open(monkeypatch, world, tmp_path, edge["edge_project"])
    end = dt.date.fromisoformat(project["end_date"]).strftime("%d.%m.%Y")
    assert [m.value for m in at.metric if m.label == "Срок сдачи"] == [end]
    # blank photo and link: nothing shown for them, and no exception
    assert "Фото проекта не указано" in texts(at)
    free = _free_by_type(world, building["id"])
    warnings = [w.value for w in at.warning]
    differing = [t for t, f in TYPE_FIELDS.items() if int(building[f]) != free[t]]
    assert differing, "the edge-case building's totals agree with its premises"
    for t in differing:
        expected = f"Брусника сообщает {int(building[TYPE_FIELDS[t]])}, по помещениям в кэше — {free[t]}"
        assert any(expected in w for w in warnings), (expected, warnings)
    assert all("Одна из двух сторон устарела" in w for w in warnings), warnings
    table = at.dataframe[0].value
    row = table[table["Этажей"] == building["number_of_floors"]]
    assert len(row) >= 1


def test_card_flags_a_building_whose_totals_brusnika_changed(
    monkeypatch: pytest.MonkeyPatch, world: RunningSandbox, tmp_path: Path
) -> None:
    admin = world.admin()
    edge = admin.edge_cases()
    buildings = [
        b
        for b in admin.records("buildings")
        if b["project_id"] not in (edge["edge_project"], edge["empty_project"])
    ]
    target = next(b for b in buildings if _free_by_type(world, b["id"])["apartment"] > 0)
    free = _free_by_type(world, target["id"])
    # before the patch the ordinary building agrees with its premises
    at = _open(monkeypatch, world, tmp_path / "before", target["project_id"])
    assert not any(str(target["address"]) in w.value.replace("\\", "") for w in at.warning)
    admin.patch_record("buildings", target["id"], total_apartment=str(free["apartment"] + 7))
    at = _open(monkeypatch, world, tmp_path / "after", target["project_id"])
    warnings = [w.value.replace("\\", "") for w in at.warning]
    mine = [
        w
        for w in warnings
        if "Брусника сообщает" in w
        and f"{free['apartment'] + 7}, по помещениям в кэше — {free['apartment']}" in w
    ]
    assert len(mine) == 1, warnings
    assert "итоги здания новее" in mine[0]  # the patch is the newer side


def test_card_lists_each_building_with_its_floors_and_counts(
    monkeypatch: pytest.MonkeyPatch, world: RunningSandbox, tmp_path: Path
) -> None:
    admin = world.admin()
    project_id = admin.records("projects")[0]["id"]
    buildings = sorted(
        (b for b in admin.records("buildings") if b["project_id"] == project_id),
        key=lambda b: (b["address"], b["id"]),
    )
    at = _open(monkeypatch, world, tmp_path, project_id)
    table = at.dataframe[0].value
    assert list(table["Этажей"]) == [b["number_of_floors"] for b in buildings]
    assert list(table["Квартиры: по помещениям"]) == [
        str(_free_by_type(world, b["id"])["apartment"]) for b in buildings
    ]
    assert list(table["Квартиры: Брусника"]) == [str(int(b["total_apartment"])) for b in buildings]


def test_an_empty_project_says_so(
    monkeypatch: pytest.MonkeyPatch, world: RunningSandbox, tmp_path: Path
) -> None:
    edge = world.admin().edge_cases()
    at = _open(monkeypatch, world, tmp_path, edge["empty_project"])
    assert "нет зданий" in texts(at)
