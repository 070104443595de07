"""Picking records out of a sandbox's ground truth (its admin API): a free premise, a free slot, an
active agent. One definition of "free" for every test folder.

`source` is a `RunningSandbox` or an already open `SandboxAdmin` (anything with `.admin()` or
`.records()`/`.users()`). The predicates (`is_free_premise`, `is_free_slot`) are for records a test
already holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

Record = dict[str, Any]


def _records(source: Any, entity: str) -> list[Record]:
    if hasattr(source, "admin"):
        with source.admin() as admin:
            return list(admin.records(entity))
    return list(source.records(entity))


def _users(source: Any) -> list[Record]:
    if hasattr(source, "admin"):
        with source.admin() as admin:
            return list(admin.users())
    return list(source.users())


def is_free_premise(premise: Record, *, kind: str | None = None, with_option: bool = False) -> bool:
    """Neither booked nor sold; of `kind` ("apartment", "parking", ...) when given; with at least one
    purchase option when `with_option` (a booking needs one)."""
    return (
        not premise["is_booked"]
        and not premise["is_sold"]
        and (kind is None or premise["type"] == kind)
        and (not with_option or bool(premise["purchase_option"]))
    )


def is_free_slot(slot: Record, *, future: bool = False, exclude: Iterable[int] = ()) -> bool:
    """Not booked; dated after today when `future`; not one of `exclude`."""
    return (
        not slot["is_booked"]
        and (not future or slot["date"] > dt.date.today().isoformat())
        and slot["id"] not in set(exclude)
    )


def free_premises(source: Any, *, kind: str | None = None, with_option: bool = False) -> list[Record]:
    return [p for p in _records(source, "premises") if is_free_premise(p, kind=kind, with_option=with_option)]


def free_premise(source: Any, *, kind: str | None = None, with_option: bool = False, skip: int = 0) -> Record:
    """The `skip`-th free premise (in the sandbox's order); fails the test when there is none."""
    found = free_premises(source, kind=kind, with_option=with_option)
    if len(found) <= skip:
        raise AssertionError(f"no free premise #{skip} (kind={kind}) in the sandbox")
    return found[skip]


def free_slots(source: Any, *, future: bool = False, exclude: Iterable[int] = ()) -> list[Record]:
    excluded = set(exclude)
    return [s for s in _records(source, "time-slots") if is_free_slot(s, future=future, exclude=excluded)]


def free_slot(source: Any, *, future: bool = False, exclude: Iterable[int] = ()) -> Record:
    found = free_slots(source, future=future, exclude=exclude)
    if not found:
        raise AssertionError("no free time slot in the sandbox")
    return found[0]


def active_users(source: Any, *, role: str | None = "AGENT") -> list[Record]:
    """Active users of `role` (every role when None), in the sandbox's order."""
    return [u for u in _users(source) if u["status"] == "active" and (role is None or u["role"] == role)]


def active_agent(source: Any, *, bookings_left: int = 1) -> Record:
    """The first active agent with more than `bookings_left - 1` bookings left (0: any agent)."""
    for user in active_users(source):
        if user["remaining_user_creation_limit"] >= bookings_left:
            return user
    raise AssertionError(f"no active agent with {bookings_left} bookings left in the sandbox")


def free_premise_in_cache(conn: Any, source: Any, *, newest_building_first: bool = False) -> Record:
    """A premise the cache offers as free (`kontur.forms.lookups.free_premises`, what a form shows)
    that the sandbox still holds free right now; its row from the cache, with `building_id`."""
    from kontur.forms import lookups  # only the form tests need the cache's side

    truth = {p["id"]: p for p in _records(source, "premises")}
    buildings = [b for (b,) in conn.execute("SELECT id FROM buildings ORDER BY id").fetchall()]
    for building in reversed(buildings) if newest_building_first else buildings:
        for row in lookups.free_premises(conn, building):
            wire = truth.get(row["id"])
            if wire and is_free_premise(wire):
                return {**row, "building_id": building}
    raise AssertionError("no free premise left in the cache and the sandbox")


def premise_booked(source: Any, premise_id: int) -> bool:
    """Whether the sandbox holds the premise booked right now."""
    return bool(next(p for p in _records(source, "premises") if p["id"] == premise_id)["is_booked"])
