"""«Сегодня»: what a person should act on today, from Kontur's records (clients, bookings and visits made
or found through Kontur, read from the operational store by the caller in the reader's scope) joined to
the cache's projects and premises by id, and the premises of their selections that changed.

Queries sit below the store in the layers: records come in as wire models (`Client`, `Booking`,
`Visit`) or by shape, never by importing the store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import pandas as pd

from kontur.models import Booking, Client, FixingType, RequestStatus, Visit

from ._db import Conn, has_table
from .selection_live import GONE, SAME, change_of, premises_now

EXPIRING_COLUMNS = ["client_id", "fullname", "phone_number", "agent_id", "fixing_type", "expiration_date",
                    "days_left", "hours_left"]  # fmt: skip
SHOWING_COLUMNS = ["visit_id", "date", "time", "day", "project_id", "project", "client_id", "agent_id",
                   "time_slot_id"]  # fmt: skip
BOOKING_COLUMNS = ["booking_id", "date", "time", "premise_id", "number", "project", "address", "price",
                   "client_id", "agent_id", "purchase_option", "premise_status"]  # fmt: skip
CHANGE_COLUMNS = ["selection_id", "selection", "premise_id", "number", "project", "before", "now",
                  "change", "price_before", "price_now", "added_at", "seen_at"]  # fmt: skip


def expiring_fixings(clients: Iterable[Client], *, now: dt.datetime, days: int) -> pd.DataFrame:
    """Clients whose fixing (weak or strong) ends between now and `days` days from now, soonest first,
    with the countdown in whole days and hours. A refused fixing or one still being checked is not a
    fixing that can run out; an expiry already passed is not listed (the client is free again)."""
    horizon = now + dt.timedelta(days=days)
    rows = []
    for client in clients:
        expires = client.expiration_date
        if expires is None or client.fixing_type not in (FixingType.WEAK, FixingType.STRONG):
            continue
        if not now <= expires <= horizon:
            continue
        left = expires - now
        rows.append(
            {
                "client_id": client.id,
                "fullname": client.fullname,
                "phone_number": client.phone_number,
                "agent_id": client.agent_id,
                "fixing_type": client.fixing_type.value,
                "expiration_date": expires,
                "days_left": left.days,
                "hours_left": int(left.total_seconds() // 3600),
            }
        )
    out = pd.DataFrame(rows, columns=EXPIRING_COLUMNS)
    return out.sort_values(["expiration_date", "client_id"], ignore_index=True) if len(out) else out


def _project_names(con: Conn, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted({int(i) for i in ids})
    if not wanted or not has_table(con, "projects"):
        return {}
    rows = con.execute(
        "SELECT id, name FROM projects WHERE list_contains(?::BIGINT[], id)", [wanted]
    ).fetchall()
    return {int(i): str(n) for i, n in rows}


def showings(con: Conn, visits: Iterable[Visit], *, today: dt.date) -> pd.DataFrame:
    """Open visits of today and tomorrow, by date and time, with the project's name from the cache."""
    days = {today: "Сегодня", today + dt.timedelta(days=1): "Завтра"}
    chosen = [v for v in visits if v.status == RequestStatus.OPEN and v.date in days]
    names = _project_names(con, (v.project_id for v in chosen))
    rows = [
        {
            "visit_id": v.id,
            "date": v.date,
            "time": v.time,
            "day": days[v.date],
            "project_id": v.project_id,
            "project": names.get(v.project_id),
            "client_id": v.client_id,
            "agent_id": v.agent_id,
            "time_slot_id": v.time_slot_id,
        }
        for v in chosen
    ]
    out = pd.DataFrame(rows, columns=SHOWING_COLUMNS)
    return out.sort_values(["date", "time", "visit_id"], ignore_index=True) if len(out) else out


def open_bookings(con: Conn, bookings: Iterable[Booking]) -> pd.DataFrame:
    """Open bookings by date (oldest first: the longest held), with the premise as the cache has it
    now (a premise sold or freed since shows its own status)."""
    chosen = [b for b in bookings if b.status == RequestStatus.OPEN]
    now = premises_now(con, [b.premise_id for b in chosen]).set_index("id", drop=False)
    rows = []
    for b in chosen:
        p: dict[str, Any] = now.loc[b.premise_id].to_dict() if b.premise_id in now.index else {}
        rows.append(
            {
                "booking_id": b.id,
                "date": b.date,
                "time": b.time,
                "premise_id": b.premise_id,
                "number": p.get("number"),
                "project": p.get("project"),
                "address": p.get("address"),
                "price": p.get("price"),
                "client_id": b.client_id,
                "agent_id": b.agent_id,
                "purchase_option": b.purchase_option.value,
                "premise_status": p.get("status"),
            }
        )
    out = pd.DataFrame(rows, columns=BOOKING_COLUMNS)
    return out.sort_values(["date", "time", "booking_id"], ignore_index=True) if len(out) else out


class Followed(Protocol):
    """`kontur.store.selections.FollowedItem` fits."""

    selection_id: int
    selection_name: str
    premise_id: int
    added_at: dt.datetime
    seen_at: dt.datetime | None

    @property
    def baseline_status(self) -> str | None: ...
    @property
    def baseline_price(self) -> int | None: ...


def followed_changes(
    con: Conn, items: Sequence[Followed]
) -> tuple[pd.DataFrame, list[tuple[int, str | None, int | None]]]:
    """Premises of the reader's selections whose status moved since they last looked (or since added,
    when they never looked): booked, sold, freed again, withdrawn. Also what the cache holds now for
    every followed premise, as (premise id, status, price), to remember as seen."""
    now = premises_now(con, [i.premise_id for i in items]).set_index("id", drop=False)
    rows, current = [], {}
    for item in items:
        p: dict[str, Any] = now.loc[item.premise_id].to_dict() if item.premise_id in now.index else {}
        status = p.get("status")
        price = None if p.get("price") is None or pd.isna(p.get("price")) else int(p["price"])
        current[item.premise_id] = (item.premise_id, status, price)
        change = change_of(item.baseline_status, status)
        if change == SAME:
            continue
        rows.append(
            {
                "selection_id": item.selection_id,
                "selection": item.selection_name,
                "premise_id": item.premise_id,
                "number": p.get("number"),
                "project": p.get("project"),
                "before": item.baseline_status,
                "now": None if change == GONE else status,
                "change": change,
                "price_before": item.baseline_price,
                "price_now": price,
                "added_at": item.added_at,
                "seen_at": item.seen_at,
            }
        )
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS), list(current.values())
