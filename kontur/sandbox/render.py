"""JSON rendering of inbound records from the generator's columns, exactly as on the wire."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson

from . import hostile
from .data import BOOKED, PREMISE_TYPES, SOLD, STAGE_STATE, STAGES, STATES, World

_STAGE_VALUES = [s.value for s in STAGES]
_STATE_OF_STAGE = [STATES[int(x)].value for x in STAGE_STATE]
CHUNK = 8_192  # rows rendered at a time: bounds orjson's transient buffers (see compact)

# A premise's photos, served by the sandbox (media.py): the plan, the floor plan, the view.
PREMISE_PHOTO_PATHS = (
    "/media/premises/{id}.svg",
    "/media/premises/{id}/floor.svg",
    "/media/premises/{id}/view.svg",
)


def premise_photos(world: World, index: int, count: int) -> list[str]:
    """The `photos` of the premise at `index`: an admin override, else its first `count` pictures;
    in hostile mode one premise in four has them rewritten and a hostile URL added."""
    override = world.photo_overrides.get(index)
    if override is not None:
        return list(override)
    pid = index + 1
    photos = [path.format(id=pid) for path in PREMISE_PHOTO_PATHS[:count]]
    if (
        world.hostile
        and photos
        and index not in world.exact_premises
        and hostile.record_is_hostile(world.seed, "premises", pid)
    ):
        photos = [hostile.url(world.seed, "premises", pid, f"photos.{n}", u) for n, u in enumerate(photos)]
        photos.append(hostile.url(world.seed, "premises", pid, "photos.extra", photos[0]))
    return photos


def premise_number(world: World, index: int) -> str:
    number = world.premises.number[index]
    if (
        world.hostile
        and index not in world.exact_premises
        and hostile.record_is_hostile(world.seed, "premises", index + 1)
    ):
        return hostile.short_text(world.seed, "premises", index + 1, "number", number)
    return number


def ts_strings(us: np.ndarray) -> list[str]:
    """RFC 3339 UTC timestamps (microsecond precision only where there is one)."""
    # .tolist() yields plain str: orjson serialises numpy's str subclass far more slowly.
    unit = "s" if (us % 1_000_000 == 0).all() else "us"
    return [s + "Z" for s in np.datetime_as_string(us.astype("datetime64[us]"), unit=unit).tolist()]


def ts_string(us: int) -> str:
    return ts_strings(np.array([us], np.int64))[0]


def day_strings(days: np.ndarray) -> list[str]:
    return np.datetime_as_string(days.astype("datetime64[D]")).tolist()


def compact(rendered: list[bytes]) -> list[bytes]:
    """Exact-size copies: orjson's output keeps its whole (~4 KB) write buffer allocated, which at
    millions of held records is gigabytes. JSON from orjson has no raw newline, so join/split is a
    safe C-speed copy."""
    return b"\n".join(rendered).split(b"\n")


def plain(record: dict[str, Any], ts: int) -> bytes:
    """Small entities keep their fields in a dict; private keys (`_…`) stay out of the wire."""
    out = {"id": record["id"], "updated_at": ts_string(ts), "deleted": False}
    out.update((k, v) for k, v in record.items() if not k.startswith("_") and k != "id")
    return compact([orjson.dumps(out)])[0]


def tombstone(record_id: int, ts: int) -> bytes:
    return compact([orjson.dumps({"id": record_id, "updated_at": ts_string(ts), "deleted": True})])[0]


def premise_rows(world: World, idx: np.ndarray, ts: np.ndarray) -> Iterator[bytes]:
    p = world.premises
    feats, purch = world.feature_sets, world.purchase_sets
    for start in range(0, len(idx), CHUNK):
        i = idx[start : start + CHUNK]
        rows = zip(
            (i + 1).tolist(),
            ts_strings(ts[start : start + CHUNK]),
            p.project_id[i].tolist(),
            p.building_id[i].tolist(),
            p.section_id[i].tolist(),
            i.tolist(),
            p.type[i].tolist(),
            p.rooms[i].tolist(),
            p.size[i].tolist(),
            p.price[i].tolist(),
            p.floor[i].tolist(),
            p.features[i].tolist(),
            p.purchase[i].tolist(),
            p.status[i].tolist(),
            p.photos[i].tolist(),
            strict=True,
        )
        out = []
        # The common case (no overrides, not hostile) needs no per-row lookups.
        plain_rows = not world.hostile and not world.photo_overrides
        for pid, uts, proj, bld, sec, k, typ, rooms, size, price, floor, fe, pu, status, n in rows:
            if plain_rows:
                number = p.number[k]
                photos = (
                    [f"/media/premises/{pid}.svg"]
                    if n == 1
                    else [path.format(id=pid) for path in PREMISE_PHOTO_PATHS[:n]]
                )
            else:
                number, photos = premise_number(world, k), premise_photos(world, k, n)
            out.append(
                orjson.dumps(
                    {
                        "id": pid,
                        "updated_at": uts,
                        "deleted": False,
                        "project_id": proj,
                        "building_id": bld,
                        "section_id": sec,
                        "number": number,
                        "type": PREMISE_TYPES[typ],
                        "rooms": rooms,
                        "size": size,
                        "price": price,
                        "floor": floor,
                        "feature": feats[fe],
                        "photos": photos,
                        "is_booked": status == BOOKED,
                        "purchase_option": purch[pu],
                        "is_sold": status == SOLD,
                    }
                )
            )
        yield from compact(out)


def lead_rows(world: World, idx: np.ndarray, ts: np.ndarray) -> Iterator[bytes]:
    ld = world.leads
    for start in range(0, len(idx), CHUNK):
        i = idx[start : start + CHUNK]
        rows = zip(
            (i + 1).tolist(),
            ts_strings(ts[start : start + CHUNK]),
            ld.client_id[i].tolist(),
            ld.project_id[i].tolist(),
            ld.premise_id[i].tolist(),
            ld.stage[i].tolist(),
            ld.nps[i].tolist(),
            ld.fee[i].tolist(),
            day_strings(ld.start_day[i]),
            ts_strings(ld.status_updated_at[i]),
            ld.agent_id[i].tolist(),
            ld.manager_id[i].tolist(),
            strict=True,
        )
        out = []
        for lid, uts, client, proj, prem, stage, nps, fee, start_day, sus, agent, mgr in rows:
            out.append(
                orjson.dumps(
                    {
                        "id": lid,
                        "updated_at": uts,
                        "deleted": False,
                        "client_id": client,
                        "project_id": proj,
                        "premise_id": prem or None,
                        "state": _STATE_OF_STAGE[stage],
                        "current_status": _STAGE_VALUES[stage],
                        "sign_nps_passed": nps,
                        "fee": fee,
                        "start_date": start_day,
                        "status_updated_at": sus,
                        "agent_id": agent,
                        "manager_id": mgr or None,
                    }
                )
            )
        yield from compact(out)


def slot_rows(world: World, idx: np.ndarray, ts: np.ndarray) -> Iterator[bytes]:
    s = world.slots
    for start in range(0, len(idx), CHUNK):
        i = idx[start : start + CHUNK]
        rows = zip(
            (i + 1).tolist(),
            ts_strings(ts[start : start + CHUNK]),
            s.project_id[i].tolist(),
            day_strings(s.day[i]),
            s.minute[i].tolist(),
            s.duration[i].tolist(),
            s.booked[i].tolist(),
            strict=True,
        )
        out = []
        for sid, uts, proj, day, minute, duration, booked in rows:
            out.append(
                orjson.dumps(
                    {
                        "id": sid,
                        "updated_at": uts,
                        "deleted": False,
                        "project_id": proj,
                        "date": day,
                        "time": f"{minute // 60:02d}:{minute % 60:02d}",
                        "duration_minutes": duration,
                        "is_booked": booked,
                    }
                )
            )
        yield from compact(out)


def iso_date(day: int) -> str:
    return (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()


def page_body(items: list[bytes], next_cursor: str | None) -> bytes:
    """The wire's page; `next_cursor` comes last so a client may read it from the tail."""
    if next_cursor is None:
        tail = b'],"next_cursor":null}'
    else:
        tail = b'],"next_cursor":"' + next_cursor.encode("ascii") + b'"}'
    return b'{"items":[' + b",".join(items) + tail
