"""Deterministic world generator: (seed, scale, today) -> every record the sandbox serves.

Big entities (premises, leads, time slots, clients) are kept as numpy columns, not dicts, so scale 10
(1M premises, 5M leads) fits in memory; the store renders them to JSON once. Scale 1 matches the
contract's "Brusnika today" (section 8).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from stdnum.ru import inn as stdnum_inn

from kontur.models.enums import Feature as F
from kontur.models.enums import FixingType, LeadStage, LeadState, PremiseType, PurchaseOption, UserRole

from . import names

DAY_US = 86_400_000_000
EPOCH = dt.date(1970, 1, 1)

PREMISE_TYPES: tuple[str, ...] = tuple(t.value for t in PremiseType)
T_APARTMENT, T_STOREROOM, T_PARKING, T_COMMERCIAL = (
    PREMISE_TYPES.index(t.value)
    for t in (PremiseType.APARTMENT, PremiseType.STOREROOM, PremiseType.PARKING, PremiseType.COMMERCIAL)
)

# Premise status codes kept in the store's `status` column.
FREE, BOOKED, SOLD = 0, 1, 2

# Lead stages in the store's `stage` column, with the share of leads at each (a funnel: many early,
# few won, some lost at every step) and the state each stage implies.
STAGES: tuple[LeadStage, ...] = (
    LeadStage.LEAD_CHECK,
    LeadStage.OPENED,
    LeadStage.PURCHASE_INTEREST,
    LeadStage.PRESENTATION,
    LeadStage.BOOKING,
    LeadStage.CONTRACT_REQUEST,
    LeadStage.CONTRACT_REGISTERED,
    LeadStage.WON,
    LeadStage.BOOKING_CANCELLED,
    LeadStage.BOOKING_FELL_THROUGH,
    LeadStage.PAUSED,
    LeadStage.LOST,
)
STAGE_SHARES = (0.12, 0.17, 0.15, 0.12, 0.06, 0.03, 0.02, 0.07, 0.04, 0.03, 0.06, 0.13)
FUNNEL_LEN = 8  # STAGES[:8] is the funnel in order; the rest are outcomes beside it
S_BOOKING, S_CONTRACT_REQUEST, S_CONTRACT_REGISTERED, S_WON = 4, 5, 6, 7
S_CANCELLED, S_FELL_THROUGH, S_PAUSED, S_LOST = 8, 9, 10, 11
STATES: tuple[LeadState, ...] = (LeadState.ACTIVE, LeadState.PAUSED, LeadState.LOST, LeadState.WON)
STAGE_STATE = np.array([0, 0, 0, 0, 0, 0, 0, 3, 2, 2, 1, 2], dtype=np.uint8)

FIXING_TYPES: tuple[FixingType, ...] = (
    FixingType.LEAD_CHECK,
    FixingType.REFUSED,
    FixingType.WEAK,
    FixingType.STRONG,
)
FX_LEAD_CHECK, FX_REFUSED, FX_WEAK, FX_STRONG = range(4)

# Phones of generated clients are a bijection of their id, so a phone search needs no index.
PHONE_MOD = 10**9
PHONE_MUL = 387_420_489  # 3**18: coprime with 10**9
PHONE_ADD = 123_456_789
PHONE_MUL_INV = pow(PHONE_MUL, -1, PHONE_MOD)


def client_phone(client_id: int) -> str:
    return f"+79{(client_id * PHONE_MUL + PHONE_ADD) % PHONE_MOD:09d}"


def client_id_of_phone(phone: str) -> int | None:
    if len(phone) != 12 or not phone.startswith("+79") or not phone[3:].isdigit():
        return None
    return ((int(phone[3:]) - PHONE_ADD) * PHONE_MUL_INV) % PHONE_MOD


def inn_is_valid(inn: str) -> bool:
    """10 digits (a company) or 12 (a sole trader) with valid check digits."""
    return inn.isascii() and inn.isdigit() and len(inn) in (10, 12) and stdnum_inn.is_valid(inn)


def make_inn(rng: random.Random, company: bool = True) -> str:
    if company:
        base = f"{rng.choice((66, 72, 86, 45, 54, 55, 59, 77, 70, 74)):02d}{rng.randrange(10**7):07d}"
        return base + stdnum_inn.calc_company_check_digit(base)
    base = f"{rng.choice((66, 72, 74)):02d}{rng.randrange(10**8):08d}"
    return base + stdnum_inn.calc_personal_check_digits(base)


def photo_counts(n: int, types: np.ndarray) -> np.ndarray:
    """Photos per premise: a plan for all; apartments and commercial premises often add a floor plan
    (2) and a view from the window (3). A hash of the id, not the generator's random stream, so the
    rest of the world is the same as before photos varied."""
    ids = np.arange(1, n + 1, dtype=np.uint64)
    roll = ((ids * np.uint64(2_654_435_761)) >> np.uint64(7)) % np.uint64(20)
    rich = (types == T_APARTMENT) | (types == T_COMMERCIAL)
    return np.where(rich & (roll < 5), 2, np.where(rich & (roll < 8), 3, 1)).astype(np.uint8)


@dataclass
class Premises:
    project_id: np.ndarray
    building_id: np.ndarray
    section_id: np.ndarray
    number: list[str]
    type: np.ndarray  # index into PREMISE_TYPES
    rooms: np.ndarray
    size: np.ndarray
    price: np.ndarray
    floor: np.ndarray
    features: np.ndarray  # index into World.feature_sets
    purchase: np.ndarray  # index into World.purchase_sets
    photos: np.ndarray  # how many photos (0-3): see photo_counts and render.premise_photos
    status: np.ndarray  # FREE / BOOKED / SOLD
    updated_at: np.ndarray  # µs


@dataclass
class Leads:
    client_id: np.ndarray
    project_id: np.ndarray
    premise_id: np.ndarray  # 0 = none chosen yet
    stage: np.ndarray  # index into STAGES
    nps: np.ndarray
    fee: np.ndarray
    start_day: np.ndarray  # days since 1970-01-01
    status_updated_at: np.ndarray  # µs
    agent_id: np.ndarray
    manager_id: np.ndarray  # 0 = none
    updated_at: np.ndarray  # µs


@dataclass
class Slots:
    project_id: np.ndarray
    day: np.ndarray
    minute: np.ndarray
    duration: np.ndarray
    booked: np.ndarray
    updated_at: np.ndarray


@dataclass
class Clients:
    female: np.ndarray
    surname: np.ndarray
    name: np.ndarray
    patronymic: np.ndarray
    agent_id: np.ndarray
    fixing: np.ndarray
    fixing_updated_at: np.ndarray
    expiration: np.ndarray  # µs, 0 = none
    actived: np.ndarray  # µs, 0 = none


@dataclass
class World:
    seed: int
    scale: float
    now_us: int  # generation time: every generated updated_at is earlier
    cities: list[dict[str, Any]]
    projects: list[dict[str, Any]]
    buildings: list[dict[str, Any]]  # without total_* (derived from premises by the store)
    sections: list[dict[str, Any]]
    premises: Premises
    leads: Leads
    slots: Slots
    clients: Clients
    users: dict[int, dict[str, Any]]
    agencies: dict[int, dict[str, Any]]
    city_price: list[int]  # per city index: apartment price per m²
    feature_sets: list[list[str]] = field(default_factory=list)
    purchase_sets: list[list[str]] = field(default_factory=list)
    agent_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    manager_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # Set by the store: hostile mode rewrites free text and URLs as records are rendered.
    hostile: bool = False
    # Premise index -> photo URLs set through the admin API (instead of the generated ones).
    photo_overrides: dict[int, list[str]] = field(default_factory=dict)
    # Premise indexes patched through the admin API: served exactly as set, even in hostile mode.
    exact_premises: set[int] = field(default_factory=set)
    # Name -> id of the records `--edge-cases` added (see edge_cases.py); empty otherwise.
    edge_cases: dict[str, int] = field(default_factory=dict)

    def client_fullname(self, index: int) -> str:
        c = self.clients
        female = bool(c.female[index])
        surname = names.SURNAMES_M[c.surname[index]]
        first = (names.NAMES_F if female else names.NAMES_M)[c.name[index]]
        patr = names.patronymic(names.PATRONYMIC_ROOTS[c.patronymic[index]], female)
        return f"{names.female_surname(surname) if female else surname} {first} {patr}"


def _interner() -> tuple[list[list[str]], dict[tuple[str, ...], int]]:
    return [], {}


def _intern(store: list[list[str]], index: dict[tuple[str, ...], int], value: tuple[str, ...]) -> int:
    found = index.get(value)
    if found is None:
        found = index[value] = len(store)
        store.append(list(value))
    return found


def _apartment_features(rng: random.Random, rooms: int, top: bool) -> tuple[str, ...]:
    out: list[str] = []
    r = rng.random
    if r() < 0.05:
        out.append(F.EXCHANGE_RF)
    if r() < 0.2:
        out.append(F.FLOOR_TO_CEILING)
    if r() < 0.1:
        out.append(F.WINDOW_IN_THE_CORRIDOR)
    if r() < 0.12:
        out.append(F.WINDOW_IN_THE_BATHROOM)
    if r() < 0.3:
        out.append(F.NO_FINISHING)
    if top and r() < 0.08:
        out.append(F.TWO_LEVEL)
    if rooms <= 1 and r() < 0.15:
        out.append(F.OPEN_PLAN)
    if r() < 0.75:
        out.append(F.BALCONY if r() < 0.35 else F.LOGGIA)
    if top:
        if r() < 0.03:
            out.append(F.SUMMER_KITCHEN_ON_THE_ROOF)
        if r() < 0.25:
            out.append(F.TERRACE)
        if r() < 0.1:
            out.append(F.ROOF_TERRACE)
        if r() < 0.03:
            out.append(F.TERRACE_WITH_ACCESS_TO_THE_ROOF)
    if rooms >= 3 and r() < 0.5:
        out.append(F.SECOND_BATHROOM)
    if rooms >= 2 and r() < 0.2:
        out.append(F.DRESSING_ROOM_IN_THE_BEDROOM)
    if rooms >= 2 and r() < 0.25:
        out.append(F.DRESSING_ROOM)
    if r() < 0.15:
        out.append(F.STORAGE_ROOM)
    if rooms >= 2 and r() < 0.15:
        out.append(F.LAUNDRY_ROOM)
    if rooms >= 3 and r() < 0.4:
        out.append(F.MASTER_BEDROOM)
    if r() < 0.01:
        out.append(F.SECONDARY_APARTMENT)
    return tuple(str(f.value) for f in out)


ROOM_SIZES = ((21.0, 30.0), (32.0, 46.0), (48.0, 68.0), (68.0, 96.0), (92.0, 135.0))
ROOM_WEIGHTS = (0.15, 0.35, 0.3, 0.15, 0.05)


def generate(seed: int, scale: float, today: dt.date) -> World:
    """Build the whole world. Same arguments, same world, byte for byte."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    # Midnight UTC: every generated updated_at is earlier than the wall clock of a sandbox started on
    # `today` (UTC), so the changes it serves later are stamped with their real time (Store.tick).
    now = dt.datetime.combine(today, dt.time(0, 0), tzinfo=dt.UTC)
    now_us = (now - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)
    today_day = (today - EPOCH).days

    def past_us(max_days: float, min_days: float = 0.02) -> int:
        return now_us - int(rng.uniform(min_days, max_days) * DAY_US)

    cities = [
        {"id": i + 1, "name": name, "long": lon, "lat": lat, "_ts": past_us(900, 400)}
        for i, (name, lon, lat, _price) in enumerate(names.CITIES)
    ]
    city_price = [price for *_rest, price in names.CITIES]

    # Projects: every city has at least one; the rest lean to the home region (Екатеринбург, Тюмень).
    n_projects = max(len(cities), round(60 * scale))
    weights = [6, 4, 2, 1, 2, 1, 1, 1, 1, 1]
    projects: list[dict[str, Any]] = []
    for p in range(n_projects):
        city = p if p < len(cities) else rng.choices(range(len(cities)), weights)[0]
        base = names.PROJECT_NAMES[p % len(names.PROJECT_NAMES)]
        name = base if p < len(names.PROJECT_NAMES) else f"{base}-{p // len(names.PROJECT_NAMES) + 1}"
        end = today + dt.timedelta(days=rng.randrange(-200, 1400))
        brief = rng.choice(names.PROJECT_BRIEFS)
        slug = f"project-{p + 1}"
        projects.append(
            {
                "id": p + 1,
                "city_id": city + 1,
                "name": name,
                "brief_description": f"{brief}, {cities[city]['name']}",
                "detailed_description": (
                    f"«{name}» — {brief.lower()}. Дворы без машин, подземный паркинг, коммерция на "
                    "первых этажах и благоустроенные общественные пространства. "
                    f"Город {cities[city]['name']}."
                ),
                "description": f"Жилой квартал «{name}» от Брусники в городе {cities[city]['name']}.",
                "end_date": end.isoformat(),
                "photo": f"/media/projects/{p + 1}.svg",  # served by the sandbox: media.py
                "link": f"https://brusnika.example/projects/{slug}/",
                "_ts": past_us(700, 30),
                "_factor": rng.uniform(0.9, 1.18),
                "_sold": rng.uniform(0.15, 0.65),
                "_city": city,
            }
        )

    # Buildings, sections and premises, laid out floor by floor until the premise target is reached
    # (every project gets at least one building).
    target = max(1, round(100_000 * scale))
    buildings: list[dict[str, Any]] = []
    sections: list[dict[str, Any]] = []
    feature_sets, feature_index = _interner()
    purchase_sets, purchase_index = _interner()
    cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "project_id",
            "building_id",
            "section_id",
            "number",
            "type",
            "rooms",
            "size",
            "price",
            "floor",
            "features",
            "purchase",
            "status",
        )
    }
    no_features = _intern(feature_sets, feature_index, ())
    apartment_purchase = [
        _intern(purchase_sets, purchase_index, tuple(o.value for o in opts))
        for opts in (
            (PurchaseOption.MORTGAGE, PurchaseOption.FULL_PAYMENT),
            (PurchaseOption.MORTGAGE, PurchaseOption.INSTALLMENT, PurchaseOption.FULL_PAYMENT),
            (
                PurchaseOption.MORTGAGE,
                PurchaseOption.INSTALLMENT,
                PurchaseOption.BILL,
                PurchaseOption.FULL_PAYMENT,
            ),
        )
    ]
    other_purchase = _intern(
        purchase_sets, purchase_index, (PurchaseOption.INSTALLMENT.value, PurchaseOption.FULL_PAYMENT.value)
    )
    commercial_features = [
        _intern(feature_sets, feature_index, v)
        for v in ((F.SEPARATE_ENTRANCE.value,), (F.SEPARATE_ENTRANCE.value, F.FLOOR_TO_CEILING.value))
    ]
    ground_parking = _intern(feature_sets, feature_index, (F.GROUND_PARKING.value,))

    def add(
        project: dict[str, Any],
        building_id: int,
        section_id: int,
        number: str,
        ptype: int,
        rooms: int,
        size: float,
        price: int,
        floor: int,
        features: int,
        purchase: int,
    ) -> None:
        sold_share = project["_sold"] * (0.5 if ptype in (T_PARKING, T_STOREROOM) else 1.0)
        roll = rng.random()
        status = SOLD if roll < sold_share else BOOKED if roll < sold_share + 0.06 else FREE
        for key, value in (
            ("project_id", project["id"]),
            ("building_id", building_id),
            ("section_id", section_id),
            ("number", number),
            ("type", ptype),
            ("rooms", rooms),
            ("size", size),
            ("price", price),
            ("floor", floor),
            ("features", features),
            ("purchase", purchase),
            ("status", status),
        ):
            cols[key].append(value)

    b = 0
    while len(cols["number"]) < target or b < n_projects:
        project = projects[b % n_projects] if b < n_projects else rng.choice(projects)
        b += 1
        city = project["_city"]
        per_m2 = city_price[city] * project["_factor"]
        building_id = len(buildings) + 1
        n_sections = rng.choices((1, 2, 3, 4, 5, 6), (10, 20, 30, 22, 12, 6))[0]
        floors = rng.randint(9, 25)
        commercial_ground = rng.random() < 0.5
        house = rng.randint(1, 180)
        buildings.append(
            {
                "id": building_id,
                "project_id": project["id"],
                "address": f"г. {cities[city]['name']}, {rng.choice(names.STREETS)}, д. {house}",
                "number_of_floors": floors,
                "brief_description": f"Дом {building_id} квартала «{project['name']}», {floors} этажей",
                "detailed_description": (
                    f"Монолитно-кирпичный дом на {n_sections} подъезд(а), {floors} этажей, "
                    f"{'коммерческие помещения на первом этаже, ' if commercial_ground else ''}"
                    "закрытый двор, лифты Otis."
                ),
                "_ts": past_us(600, 10),
            }
        )
        apt_number = 0
        first_section_id = len(sections) + 1
        for s in range(1, n_sections + 1):
            section_id = len(sections) + 1
            sec_floors = floors if s == 1 or rng.random() < 0.7 else max(9, floors - rng.randint(1, 4))
            per_floor = rng.randint(3, 6)
            sections.append(
                {
                    "id": section_id,
                    "building_id": building_id,
                    "number": s,
                    "name": f"Подъезд {s}",
                    "number_of_floors": sec_floors,
                    "premises_per_floor": per_floor,
                    "_ts": past_us(600, 10),
                }
            )
            if commercial_ground:
                for c in range(rng.randint(1, 3)):
                    size = round(rng.uniform(45, 190), 1)
                    add(
                        project,
                        building_id,
                        section_id,
                        f"Н{s}.{c + 1}",
                        T_COMMERCIAL,
                        0,
                        size,
                        round(size * per_m2 * 1.3, -3),
                        1,
                        commercial_features[rng.random() < 0.5],
                        other_purchase,
                    )
            # One layout per floor position, repeated up the section (as real floor plans are).
            layout = [rng.choices(range(5), ROOM_WEIGHTS)[0] for _ in range(per_floor)]
            for floor in range(2 if commercial_ground else 1, sec_floors + 1):
                top = floor == sec_floors
                for rooms in layout:
                    apt_number += 1
                    low, high = ROOM_SIZES[rooms]
                    size = round(rng.uniform(low, high), 1)
                    price = size * per_m2 * (1 + 0.009 * (floor - 1)) * rng.uniform(0.97, 1.05)
                    feats = _intern(feature_sets, feature_index, _apartment_features(rng, rooms, top))
                    add(
                        project,
                        building_id,
                        section_id,
                        str(apt_number),
                        T_APARTMENT,
                        rooms,
                        size,
                        int(round(price, -3)),
                        floor,
                        feats,
                        rng.choice(apartment_purchase),
                    )
        if rng.random() < 0.6:
            for n in range(1, rng.randint(20, 80) + 1):
                ground = rng.random() < 0.15
                add(
                    project,
                    building_id,
                    first_section_id,
                    f"П{n}",
                    T_PARKING,
                    0,
                    round(rng.uniform(13.3, 18.0), 1),
                    int(round(city_price[city] * rng.uniform(7.5, 12.0), -3)),
                    1 if ground else -1,
                    ground_parking if ground else no_features,
                    other_purchase,
                )
        if rng.random() < 0.5:
            for n in range(1, rng.randint(10, 40) + 1):
                size = round(rng.uniform(2.8, 8.5), 1)
                add(
                    project,
                    building_id,
                    first_section_id,
                    f"К{n}",
                    T_STOREROOM,
                    0,
                    size,
                    int(round(size * city_price[city] * 0.55, -3)),
                    -1,
                    no_features,
                    other_purchase,
                )

    n_premises = len(cols["number"])
    premises = Premises(
        project_id=np.array(cols["project_id"], np.int32),
        building_id=np.array(cols["building_id"], np.int32),
        section_id=np.array(cols["section_id"], np.int32),
        number=cols["number"],
        type=np.array(cols["type"], np.uint8),
        rooms=np.array(cols["rooms"], np.uint8),
        size=np.array(cols["size"], np.float64),
        price=np.array(cols["price"], np.int64),
        floor=np.array(cols["floor"], np.int16),
        features=np.array(cols["features"], np.int32),
        purchase=np.array(cols["purchase"], np.int32),
        photos=photo_counts(n_premises, np.array(cols["type"], np.uint8)),
        status=np.array(cols["status"], np.uint8),
        updated_at=now_us - nrng.integers(DAY_US // 50, 365 * DAY_US, n_premises),
    )
    cols.clear()  # the columns above own the data now; drop the Python lists

    users, agencies, agent_ids, manager_ids = _directory(rng, scale, len(cities), today)
    clients, n_clients = _clients(nrng, scale, agent_ids, now_us)
    leads = _leads(nrng, scale, premises, projects, clients, n_clients, manager_ids, now_us, today_day)
    slots = _slots(rng, nrng, scale, projects, today_day, now_us)
    return World(
        seed=seed,
        scale=scale,
        now_us=now_us,
        cities=cities,
        projects=projects,
        buildings=buildings,
        sections=sections,
        premises=premises,
        leads=leads,
        slots=slots,
        clients=clients,
        users=users,
        agencies=agencies,
        city_price=city_price,
        feature_sets=feature_sets,
        purchase_sets=purchase_sets,
        agent_ids=agent_ids,
        manager_ids=manager_ids,
    )


def _person(rng: random.Random) -> tuple[str, str]:
    female = rng.random() < 0.55
    surname = rng.choice(names.SURNAMES_M)
    return (
        names.female_surname(surname) if female else surname,
        rng.choice(names.NAMES_F if female else names.NAMES_M),
    )


def _directory(
    rng: random.Random, scale: float, n_cities: int, today: dt.date
) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]], np.ndarray, np.ndarray]:
    """Agencies, then the user directory: agents in agencies, Brusnika's managers, a few admins."""
    n_agencies = max(6, round(250 * scale))
    agencies: dict[int, dict[str, Any]] = {}
    for a in range(1, n_agencies + 1):
        owner_last, owner_first = _person(rng)
        word = names.AGENCY_WORDS[(a - 1) % len(names.AGENCY_WORDS)]
        title = word if a <= len(names.AGENCY_WORDS) else f"{word} {a}"
        agencies[a] = {
            "id": a,
            "title": title,
            "city_id": rng.randint(1, n_cities),
            "legalName": f"ООО «{title}»",
            "inn": make_inn(rng, company=rng.random() < 0.85),
            "phone": f"+7343{rng.randrange(10**7):07d}",
            "email": f"office{a}@agency{a}.example",
            "ownerFullName": f"{owner_last} {owner_first}",
            "ownerPhone": f"+79{rng.randrange(10**9):09d}",
        }
    n_agents = max(30, round(3000 * scale))
    n_managers = max(6, round(150 * scale))
    users: dict[int, dict[str, Any]] = {}
    agent_ids: list[int] = []
    manager_ids: list[int] = []
    heads: set[int] = set()
    for uid in range(1, n_agents + n_managers + 4):
        last, first = _person(rng)
        if uid <= n_agents:
            agency = rng.randint(1, n_agencies)
            role = (
                UserRole.HEAD_OF_AGENCY
                if agency not in heads
                else rng.choices((UserRole.AGENT, UserRole.NEW_MEMBER), (0.88, 0.12))[0]
            )
            heads.add(agency)
            city = agencies[agency]["city_id"]
            agent_ids.append(uid)
        elif uid <= n_agents + n_managers:
            agency, city = None, rng.randint(1, n_cities)
            role = rng.choices(
                (UserRole.MANAGER, UserRole.OZK_MANAGER, UserRole.AFFILIATE_MANAGER), (0.8, 0.1, 0.1)
            )[0]
            manager_ids.append(uid)
        else:
            agency, city, role = None, 1, UserRole.ADMIN
        blocked = uid <= n_agents and (uid % 25 == 7 or rng.random() < 0.01)
        users[uid] = {
            "id": uid,
            "lastName": last,
            "firstName": first,
            "phone": f"+79{rng.randrange(10**9):09d}",
            "email": f"user{uid}@kontur.example",
            "status": "blocked" if blocked else "active",
            "role": role.value,
            "temporary_role": UserRole.MANAGER.value
            if role == UserRole.AGENT and rng.random() < 0.02
            else None,
            "city_id": city,
            "birthDate": (today - dt.timedelta(days=rng.randint(22 * 365, 60 * 365))).isoformat(),
            "agency_id": agency,
            "workStartDate": (today - dt.timedelta(days=rng.randint(30, 8 * 365))).isoformat(),
            "avatar": f"https://media.kontur.example/avatars/{uid}.png",
            # Bookings still allowed; every tenth agent has used them all up.
            "remaining_user_creation_limit": 0 if uid % 10 == 0 else rng.randint(1, 25),
        }
    return users, agencies, np.array(agent_ids, np.int64), np.array(manager_ids, np.int64)


def _clients(
    nrng: np.random.Generator, scale: float, agent_ids: np.ndarray, now_us: int
) -> tuple[Clients, int]:
    n = max(100, round(350_000 * scale))
    fixing = nrng.choice(4, n, p=(0.2, 0.1, 0.35, 0.35)).astype(np.uint8)
    # Skewed to recent months, so a fair share of fixings is still in force today.
    fixed_at = now_us - DAY_US - (nrng.random(n) ** 2 * 600 * DAY_US).astype(np.int64)
    # Fixings last 30–90 days: recent ones are still in force, older ones have expired.
    expiration = np.where(fixing == FX_REFUSED, 0, fixed_at + nrng.integers(30, 91, n) * DAY_US)
    female = nrng.random(n) < 0.55
    clients = Clients(
        female=female,
        surname=nrng.integers(0, len(names.SURNAMES_M), n).astype(np.uint8),
        name=nrng.integers(0, len(names.NAMES_M), n).astype(np.uint8),
        patronymic=nrng.integers(0, len(names.PATRONYMIC_ROOTS), n).astype(np.uint8),
        agent_id=agent_ids[nrng.integers(0, len(agent_ids), n)],
        fixing=fixing,
        fixing_updated_at=fixed_at,
        expiration=expiration.astype(np.int64),
        actived=np.where(fixing == FX_REFUSED, 0, fixed_at - nrng.integers(0, 3 * DAY_US, n)),
    )
    return clients, n


def _leads(
    nrng: np.random.Generator,
    scale: float,
    premises: Premises,
    projects: list[dict[str, Any]],
    clients: Clients,
    n_clients: int,
    manager_ids: np.ndarray,
    now_us: int,
    today_day: int,
) -> Leads:
    n = max(200, round(500_000 * scale))
    stage = nrng.choice(len(STAGES), n, p=STAGE_SHARES).astype(np.uint8)
    client_index = nrng.integers(0, n_clients, n)
    n_premises = len(premises.price)
    # Leads that reached a booking point at a premise: booked ones while the booking is open,
    # sold ones once the contract is on its way; early leads mostly have none chosen.
    sold = np.flatnonzero(premises.status == SOLD)
    booked = np.flatnonzero(premises.status == BOOKED)
    any_premise = nrng.integers(0, n_premises, n)
    premise_index = np.where(
        np.isin(stage, (S_CONTRACT_REQUEST, S_CONTRACT_REGISTERED, S_WON)) & (len(sold) > 0),
        sold[nrng.integers(0, max(1, len(sold)), n)] if len(sold) else any_premise,
        np.where(
            (stage == S_BOOKING) & (len(booked) > 0),
            booked[nrng.integers(0, max(1, len(booked)), n)] if len(booked) else any_premise,
            any_premise,
        ),
    )
    has_premise = (stage >= S_BOOKING) | (nrng.random(n) < np.where(stage >= 2, 0.5, 0.05))
    has_premise &= stage != S_PAUSED
    premise_id = np.where(has_premise, premise_index + 1, 0)
    project_of_premise = premises.project_id[premise_index]
    project_id = np.where(has_premise, project_of_premise, nrng.integers(1, len(projects) + 1, n)).astype(
        np.int32
    )
    price = premises.price[premise_index].astype(np.float64)
    fee = np.where(
        has_premise,
        np.round(price * nrng.uniform(0.02, 0.04, n), 2),
        np.round(nrng.uniform(80_000, 250_000, n), 2),
    )
    start_day = today_day - nrng.integers(1, 730, n)
    start_us = start_day.astype(np.int64) * DAY_US
    # The further along the funnel, the longer since the lead started moving.
    spread = np.maximum(now_us - start_us, DAY_US)
    status_us = start_us + (spread * nrng.uniform(0.05, 0.98, n)).astype(np.int64)
    status_us = np.minimum(status_us, now_us - DAY_US // 24)
    updated = np.minimum(status_us + nrng.integers(0, 3 * DAY_US, n), now_us - DAY_US // 48)
    manager_id = np.where(nrng.random(n) < 0.85, manager_ids[nrng.integers(0, len(manager_ids), n)], 0)
    nps = np.where(stage == S_WON, nrng.random(n) < 0.7, nrng.random(n) < 0.08)
    return Leads(
        client_id=(client_index + 1).astype(np.int64),
        project_id=project_id,
        premise_id=premise_id.astype(np.int64),
        stage=stage,
        nps=nps,
        fee=fee,
        start_day=start_day.astype(np.int32),
        status_updated_at=status_us.astype(np.int64),
        agent_id=clients.agent_id[client_index],
        manager_id=manager_id.astype(np.int64),
        updated_at=updated.astype(np.int64),
    )


def _slots(
    rng: random.Random,
    nrng: np.random.Generator,
    scale: float,
    projects: list[dict[str, Any]],
    today_day: int,
    now_us: int,
) -> Slots:
    """Showing slots for each project over the next four weeks, within working hours."""
    target = max(len(projects) * 20, round(20_000 * scale))
    days = [d for d in range(today_day + 1, today_day + 29) if (d + 3) % 7 < 6]  # Mon–Sat
    per_day = max(1, target // (len(projects) * len(days)))
    cols: dict[str, list[int]] = {"project_id": [], "day": [], "minute": [], "duration": []}
    for project in projects:
        duration = rng.choice((30, 45, 60))
        starts = list(range(10 * 60, 19 * 60 - duration + 1, duration))
        for day in days:
            for minute in sorted(rng.sample(starts, min(per_day, len(starts)))):
                cols["project_id"].append(project["id"])
                cols["day"].append(day)
                cols["minute"].append(minute)
                cols["duration"].append(duration)
    n = len(cols["day"])
    return Slots(
        project_id=np.array(cols["project_id"], np.int32),
        day=np.array(cols["day"], np.int32),
        minute=np.array(cols["minute"], np.int16),
        duration=np.array(cols["duration"], np.int16),
        booked=nrng.random(n) < 0.3,
        updated_at=now_us - nrng.integers(DAY_US // 24, 30 * DAY_US, n),
    )
