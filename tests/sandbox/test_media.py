"""The sandbox's own pictures: every premise/project photo URL is relative, served without a token
as SVG drawn from the record, the same in every process, and outside the API's OpenAPI document."""

from __future__ import annotations

from collections import Counter
from urllib.parse import urljoin

import httpx

from kontur.sandbox.server import RunningSandbox
from tests.support.sandboxes import SandboxFactory


def _get(sandbox: RunningSandbox, url: str) -> httpx.Response:
    # no Authorization header: an <img> in a browser sends none
    return httpx.get(urljoin(sandbox.api_url, url), timeout=30)


def test_premise_and_project_photos_are_served_offline(sandbox: RunningSandbox) -> None:
    admin = sandbox.admin()
    premises = admin.records("premises")
    by_type = {p["type"]: p for p in premises}
    assert {"apartment", "parking"} <= set(by_type)
    for premise in by_type.values():
        url = premise["photos"][0]
        assert url == f"/media/premises/{premise['id']}.svg"
        response = _get(sandbox, url)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("image/svg+xml")
        svg = response.text
        assert svg.startswith("<svg")
        assert svg.rstrip().endswith("</svg>")
        assert premise["number"] in svg  # drawn from the record itself
        if premise["type"] == "apartment":
            assert f"{premise['size']:.1f}".replace(".", ",") in svg
    project = admin.records("projects")[0]
    assert project["photo"] == f"/media/projects/{project['id']}.svg"
    response = _get(sandbox, project["photo"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")


def test_a_share_of_premises_carries_a_floor_plan_and_a_view(sandbox: RunningSandbox) -> None:
    premises = sandbox.admin().records("premises")
    counts = Counter(len(p["photos"]) for p in premises)
    assert set(counts) == {1, 2, 3}
    assert 0.1 * len(premises) < counts[2] + counts[3] < 0.5 * len(premises)
    assert all(len(p["photos"]) == 1 for p in premises if p["type"] in ("parking", "storeroom"))
    three = next(p for p in premises if len(p["photos"]) == 3 and p["type"] == "apartment")
    plan, floor, view = three["photos"]
    assert (floor, view) == (
        f"/media/premises/{three['id']}/floor.svg",
        f"/media/premises/{three['id']}/view.svg",
    )
    pictures = [_get(sandbox, url) for url in (plan, floor, view)]
    assert [r.status_code for r in pictures] == [200, 200, 200]
    assert all(r.headers["content-type"].startswith("image/svg+xml") for r in pictures)
    assert len({r.text for r in pictures}) == 3, "plan, floor plan and view are different pictures"
    assert f"{three['floor']} этаж" in pictures[1].text
    assert f"{three['floor']} этаж" in pictures[2].text
    assert _get(sandbox, "/media/premises/999999999/view.svg").status_code == 404


def test_unknown_pictures_are_404_and_media_is_not_in_the_api_document(sandbox: RunningSandbox) -> None:
    assert _get(sandbox, "/media/premises/999999999.svg").status_code == 404
    assert _get(sandbox, "/media/projects/999999.svg").status_code == 404
    paths = httpx.get(f"{sandbox.root_url}/openapi.json", timeout=30).json()["paths"]
    assert not [p for p in paths if p.startswith("/media")]


def test_pictures_are_the_same_in_another_process(sandbox: RunningSandbox, sandboxes: SandboxFactory) -> None:
    with sandboxes(scale=0.005, seed=20261126) as other:
        premise = other.admin().records("premises")[0]
        mine = {p["id"]: p for p in sandbox.admin().records("premises")}
        first = _get(other, premise["photos"][0])
        assert first.status_code == 200
        # the same id with the same layout draws the same picture, whichever process serves it
        same = mine.get(premise["id"])
        if same is not None and all(same[k] == premise[k] for k in ("type", "rooms", "size", "number")):
            assert _get(sandbox, same["photos"][0]).text == first.text
        assert _get(other, premise["photos"][0]).text == first.text
