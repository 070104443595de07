"""Hand-made records for the page tests, loaded into a real cache through the real load path
(`kontur.load.Staging`, as a sync or a Kafka batch would): hostile text in every partner field and the
records the contract allows but the sandbox's generator never makes. They complement the sandbox's
`--hostile`/`--edge-cases` modes with exact, known cases (ids from 900001 up, clear of the sandbox's).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kontur.cache import Cache
from kontur.load import Staging

NOW = datetime.now(UTC).isoformat()

# What an attacker who can write a partner record (or a Kafka topic) would put in text fields.
SCRIPT = "<script>alert('script')</script>"
IMG = "<img src=x onerror=alert('img')>"
IFRAME = "<iframe srcdoc=\"<script>parent.alert('iframe')</script>\"></iframe>"
MD_LINK = "[нажми](javascript:alert('md'))"
MD_IMAGE = "![x](https://evil.example/x.png)"
FORMULA = '=HYPERLINK("https://evil.example","x")'
HOSTILE_TEXTS = (SCRIPT, IMG, IFRAME, MD_LINK, MD_IMAGE, FORMULA, "+1+1", "-2+3", "@SUM(A1)")
RTL = "\u202eгнп.exe"
HUGE = "Ж" * 10_000
BAD_URLS = (
    "javascript:alert('url')",
    "data:text/html,<script>alert(1)</script>",
    "http://evil.example/p.png",
)


@dataclass
class World:
    """The hand-made records by entity, and the ids tests look for."""

    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    def add(self, entity: str, record: dict[str, Any], name: str | None = None) -> dict[str, Any]:
        self.records.setdefault(entity, []).append({"updated_at": NOW, **record})
        if name:
            self.ids[name] = record["id"]
        return record


def _premise(id_: int, **over: Any) -> dict[str, Any]:
    return {
        "id": id_, "project_id": 900001, "building_id": 900001, "section_id": 900001,
        "number": str(id_ - 900000),
        "type": "apartment", "rooms": 2, "size": 54.3, "price": 6_250_000, "floor": 3,
        "feature": ["sign_balcony"], "photos": [f"/media/premises/{id_}.svg"], "is_booked": False,
        "purchase_option": ["mortage"], "is_sold": False, **over,
    }  # fmt: skip


def hostile_and_edge_world(agent_ids: list[int], outsider_agent: int = 990001) -> World:
    """One city (hostile name) with a project holding the edge cases, one project with no buildings,
    a building with no premises, leads of known agents and of one absent from the directory."""
    w = World()
    w.add("cities", {"id": 900001, "name": f"Город {IFRAME}{SCRIPT}", "long": "60.6", "lat": "56.8"}, "city")
    w.add(
        "projects",
        {
            "id": 900001, "city_id": 900001, "name": f"Проект {IMG}{MD_LINK}", "brief_description": SCRIPT,
            "detailed_description": IFRAME, "description": MD_IMAGE, "end_date": "2027-12-31",
            "photo": BAD_URLS[0], "link": BAD_URLS[0],
        },
        "project",
    )  # fmt: skip
    w.add(
        "projects",
        {
            "id": 900002, "city_id": 900001, "name": f"Пустой проект {RTL}", "brief_description": "",
            "detailed_description": "", "description": "", "end_date": "2028-06-30", "photo": "", "link": "",
        },
        "empty_project",
    )  # fmt: skip
    building = {
        "project_id": 900001, "number_of_floors": 1, "brief_description": SCRIPT,
        "detailed_description": IFRAME,
        "total_apartment": "0", "total_parking_space": "0", "total_storage": "0", "total_commercial": "0",
    }  # fmt: skip
    w.add("buildings", {**building, "id": 900001, "address": f"ул. {IFRAME}, д. {SCRIPT} {HUGE}"}, "building")
    w.add("buildings", {**building, "id": 900002, "address": f"ул. Пустая {IMG}"}, "empty_building")
    w.add(
        "sections",
        {"id": 900001, "building_id": 900001, "number": 1, "name": f"Секция {IFRAME}", "number_of_floors": 1,
         "premises_per_floor": 8},
        "section",
    )  # fmt: skip
    w.add("premises", _premise(900001, photos=[]), "empty_photos")
    w.add(
        "premises",
        _premise(900002, photos=["/media/premises/1.svg", "/media/premises/2.svg", "/media/premises/3.svg"]),
        "three_photos",
    )
    w.add("premises", _premise(900003, feature=[], purchase_option=[]), "empty_lists")
    w.add("premises", _premise(900004, type="parking", rooms=0, floor=-2, price=450_000), "negative_floor")
    w.add("premises", _premise(900005, price=5_000_000_000, size=412.0, rooms=5), "huge_price")
    w.add("premises", _premise(900006, rooms=0, size=24.1), "studio")
    w.add("premises", _premise(900007, number=f"{FORMULA}{IMG}", photos=[BAD_URLS[0]]), "hostile_number")
    w.add("premises", _premise(900008, photos=[BAD_URLS[2]], is_booked=True), "foreign_photo")
    lead = {
        "client_id": 1, "project_id": 900001, "premise_id": None, "state": "Активные",
        "current_status": "проверка лида", "sign_nps_passed": False, "fee": 100_000.0,
        "start_date": "2026-01-15", "status_updated_at": "2026-01-15T10:00:00+05:00", "manager_id": None,
    }  # fmt: skip
    for i, agent in enumerate(agent_ids):
        w.add("leads", {**lead, "id": 900001 + i, "agent_id": agent})
    w.add(
        "leads", {**lead, "id": 900100, "agent_id": outsider_agent, "premise_id": 900001}, "absent_agent_lead"
    )
    w.ids["absent_agent"] = outsider_agent
    return w


def load(path: Path, world: World) -> None:
    """Stage and commit the records as one incremental run; every record must be accepted."""
    with Cache(path) as cache:
        run_id = cache.start_run("rest", "incremental")
        with Staging(cache, run_id) as staging:
            for entity, items in world.records.items():
                staging.add_items(
                    entity,
                    [json.dumps(r).encode() for r in items],
                    [f"test:{entity}/{r['id']}" for r in items],
                )
            rejected = {e: staging.stats(e).rejected for e in world.records}
            assert not any(rejected.values()), rejected
            staging.commit(dict.fromkeys(world.records, "incremental"))
