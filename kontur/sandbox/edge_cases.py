"""Edge-cases mode (`--edge-cases`): records the contract allows but the generator never makes, added
after the generated world (new ids at the end of each list, so everything else stays as generated).

`add(world, today)` returns (and keeps in `world.edge_cases`) a name -> id map, served at
`GET /admin/edge-cases`, so a test can open "the empty-photos premise" directly:

- premises: `empty_photos_premise` (photos []), `three_photos_premise`, `empty_features_premise`
  (feature []), `empty_purchase_premise` (purchase_option []), `zero_rooms_premise` (an apartment of
  0 rooms), `zero_size_premise` (size 0), `huge_price_premise` (price over 2³²),
  `negative_floor_premise` (floor -3);
- `edge_project` / `blank_urls_project`: a project whose `photo`, `link` and `detailed_description`
  are empty strings; `empty_project`: a project with no buildings;
- `totals_mismatch_building`: Brusnika's `total_*` disagree with its free premises (all of the
  premises above are in it); `empty_building`: no sections, no premises;
  `single_floor_section`: one floor, one premise per floor;
- leads: `lead_without_premise_or_manager` (both null), `lead_of_unknown_agent` (its `agent_id`,
  also given as `unknown_agent`, is absent from the users directory), `lead_on_edge_premise`;
- time slots in the past: `past_slot` (free) and `past_booked_slot`.

Drift never touches them, and hostile mode leaves their defining fields alone (the edge premises'
photos and numbers, the blank project's empty strings), so both modes can run together.

Nullable in the contract and the models are only a lead's `premise_id` and `manager_id` (and, on
outbound records, a user's `temporary_role` and a visit's `time_slot_id`); `rooms` and `section_id`
are plain ints on the wire, so they are never null here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from kontur.models.enums import Feature, LeadStage, PurchaseOption

from .data import EPOCH, FREE, PREMISE_TYPES, STAGES, World

MINUTE_US = 60_000_000
# Brusnika's own free counts for the mismatch building: none equals what its premises say.
MISMATCHED_TOTALS = {
    "total_apartment": "42",
    "total_parking_space": "0",
    "total_storage": "7",
    "total_commercial": "3",
}


def _set_index(sets: list[list[str]], values: tuple[str, ...]) -> int:
    for index, existing in enumerate(sets):
        if tuple(existing) == values:
            return index
    sets.append(list(values))
    return len(sets) - 1


def _append(columns: object, rows: list[dict[str, Any]]) -> None:
    """Append rows to a dataclass of numpy columns (and plain lists), keeping each column's dtype."""
    for name, column in vars(columns).items():
        values = [row[name] for row in rows]
        if isinstance(column, list):
            column.extend(values)
        else:
            setattr(columns, name, np.concatenate([column, np.array(values, column.dtype)]))


def add(world: World, today: dt.date) -> dict[str, int]:
    now = world.now_us
    ids: dict[str, int] = {}

    def ts(minutes: int) -> int:
        return now - minutes * MINUTE_US

    edge_project, empty_project = len(world.projects) + 1, len(world.projects) + 2
    ids |= {"edge_project": edge_project, "blank_urls_project": edge_project, "empty_project": empty_project}
    city = world.cities[0]
    world.projects += [
        {
            "id": edge_project,
            "city_id": city["id"],
            "name": "Краевой квартал",
            "brief_description": f"Квартал для проверки необычных записей, {city['name']}",
            "detailed_description": "",
            "description": "Квартал с пустыми ссылками и фото.",
            "end_date": (today + dt.timedelta(days=400)).isoformat(),
            "photo": "",
            "link": "",
            "_ts": ts(50),
            "_city": 0,
        },
        {
            "id": empty_project,
            "city_id": city["id"],
            "name": "Квартал без домов",
            "brief_description": "Проект объявлен, домов ещё нет",
            "detailed_description": "Первый дом появится после получения разрешения на строительство.",
            "description": "Квартал в стадии проектирования.",
            "end_date": (today + dt.timedelta(days=1500)).isoformat(),
            "photo": f"/media/projects/{empty_project}.svg",
            "link": f"https://brusnika.example/projects/project-{empty_project}/",
            "_ts": ts(49),
            "_city": 0,
        },
    ]

    mismatch, empty_building = len(world.buildings) + 1, len(world.buildings) + 2
    ids |= {"totals_mismatch_building": mismatch, "empty_building": empty_building}
    world.buildings += [
        {
            "id": mismatch,
            "project_id": edge_project,
            "address": f"г. {city['name']}, ул. Краевая, д. 1",
            "number_of_floors": 3,
            "brief_description": "Дом с необычными помещениями, 3 этажа",
            "detailed_description": "Свободные помещения по данным Брусники не сходятся с перечнем.",
            "_ts": ts(48),
            "_totals": dict(MISMATCHED_TOTALS),
        },
        {
            "id": empty_building,
            "project_id": edge_project,
            "address": f"г. {city['name']}, ул. Краевая, д. 3",
            "number_of_floors": 5,
            "brief_description": "Дом без помещений в продаже",
            "detailed_description": "",
            "_ts": ts(47),
        },
    ]

    single, second = len(world.sections) + 1, len(world.sections) + 2
    ids["single_floor_section"] = single
    world.sections += [
        {
            "id": single,
            "building_id": mismatch,
            "number": 1,
            "name": "Подъезд 1",
            "number_of_floors": 1,
            "premises_per_floor": 1,
            "_ts": ts(46),
        },
        {
            "id": second,
            "building_id": mismatch,
            "number": 2,
            "name": "Подъезд 2",
            "number_of_floors": 3,
            "premises_per_floor": 3,
            "_ts": ts(45),
        },
    ]

    features, purchases = world.feature_sets, world.purchase_sets
    balcony = _set_index(features, (Feature.BALCONY.value,))
    loggia = _set_index(features, (Feature.LOGGIA.value, Feature.DRESSING_ROOM.value))
    no_features = _set_index(features, ())
    entrance = _set_index(features, (Feature.SEPARATE_ENTRANCE.value,))
    mortgage = _set_index(purchases, (PurchaseOption.MORTGAGE.value, PurchaseOption.FULL_PAYMENT.value))
    no_purchase = _set_index(purchases, ())
    other = _set_index(purchases, (PurchaseOption.INSTALLMENT.value, PurchaseOption.FULL_PAYMENT.value))
    apartment, storeroom, parking, commercial = (
        PREMISE_TYPES.index(t) for t in ("apartment", "storeroom", "parking", "commercial")
    )
    # name, section, number, type, rooms, size, price, floor, features, purchase, photos
    premises = [
        ("empty_photos_premise", single, "1", apartment, 1, 38.5, 5_100_000, 1, balcony, mortgage, 0),
        ("three_photos_premise", second, "2", apartment, 2, 54.2, 7_300_000, 1, loggia, mortgage, 3),
        ("empty_features_premise", second, "3", apartment, 3, 76.0, 9_800_000, 1, no_features, mortgage, 1),
        ("empty_purchase_premise", second, "4", apartment, 1, 36.1, 4_900_000, 2, balcony, no_purchase, 1),
        ("zero_rooms_premise", second, "5", apartment, 0, 24.0, 3_600_000, 2, no_features, mortgage, 1),
        ("huge_price_premise", second, "Н2.1", commercial, 0, 180.0, 4_800_000_000, 1, entrance, other, 2),
        ("zero_size_premise", second, "К1", storeroom, 0, 0.0, 150_000, -1, no_features, other, 1),
        ("negative_floor_premise", second, "П1", parking, 0, 13.5, 900_000, -3, no_features, other, 1),
    ]
    first = len(world.premises.price)
    rows = []
    for offset, (name, section, number, ptype, rooms, size, price, floor, feat, purch, photos) in enumerate(
        premises
    ):
        ids[name] = first + offset + 1
        rows.append(
            {
                "project_id": edge_project,
                "building_id": mismatch,
                "section_id": section,
                "number": number,
                "type": ptype,
                "rooms": rooms,
                "size": size,
                "price": price,
                "floor": floor,
                "features": feat,
                "purchase": purch,
                "photos": photos,
                "status": FREE,
                "updated_at": ts(40 - offset),
            }
        )
    _append(world.premises, rows)
    # Their photos and numbers are the point: hostile mode leaves them as they are.
    world.exact_premises.update(range(first, first + len(rows)))

    leads = world.leads
    first_lead = len(leads.stage)
    unknown_agent = max(world.users) + 1000
    today_day = (today - EPOCH).days
    manager = int(world.manager_ids[0])
    lead_rows = []
    for offset, (name, client, project, premise, agent, mgr) in enumerate(
        (
            ("lead_without_premise_or_manager", 1, edge_project, 0, int(world.clients.agent_id[0]), 0),
            ("lead_of_unknown_agent", 2, world.projects[0]["id"], 0, unknown_agent, manager),
            (
                "lead_on_edge_premise",
                3,
                edge_project,
                ids["empty_photos_premise"],
                int(world.clients.agent_id[2]),
                manager,
            ),
        )
    ):
        ids[name] = first_lead + offset + 1
        lead_rows.append(
            {
                "client_id": client,
                "project_id": project,
                "premise_id": premise,
                "stage": 0 if premise == 0 else STAGES.index(LeadStage.PRESENTATION),
                "nps": False,
                "fee": 150_000.0,
                "start_day": today_day - 20,
                "status_updated_at": ts(300),
                "agent_id": agent,
                "manager_id": mgr,
                "updated_at": ts(30 - offset),
            }
        )
    ids["unknown_agent"] = unknown_agent
    _append(leads, lead_rows)

    first_slot = len(world.slots.day)
    ids |= {"past_slot": first_slot + 1, "past_booked_slot": first_slot + 2}
    _append(
        world.slots,
        [
            {
                "project_id": world.projects[0]["id"],
                "day": today_day - 2,
                "minute": 11 * 60,
                "duration": 60,
                "booked": False,
                "updated_at": ts(20),
            },
            {
                "project_id": world.projects[0]["id"],
                "day": today_day - 1,
                "minute": 15 * 60,
                "duration": 45,
                "booked": True,
                "updated_at": ts(19),
            },
        ],
    )
    world.edge_cases = ids
    return ids
