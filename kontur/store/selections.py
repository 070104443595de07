"""Selections («подборки»): premises a manager or agent collects for a client, kept with their owner.

A selection belongs to the user who made it (`owner_id`) and that user's agency at the time. Whoever
reads or changes one passes `agent_ids` (`ReadScope.agent_ids` of the reader, `view_leads` reach: None =
everyone's, empty = no one's): every read and every change is filtered by the owner in the same SQL
statement, so a selection out of the reader's reach is neither shown nor changed, whatever id a page
sends. Items remember the premise's price and status (`free`/`booked`/`sold`) when it was added; the
live values come from the cache, and the view says what changed since.

For «Сегодня» each person also has what they last saw of the premises they follow (`premise_views`)
and named timestamps such as when they last looked (`user_marks`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from .db import insert, utcnow
from .schema import premise_views, selection_items, selections, user_marks

NAME_MAX = 200
CLIENT_NAME_MAX = 300
STATUSES = ("free", "booked", "sold")
TODAY_LOOKED = "today_looked"  # the `user_marks` mark of «Сегодня»
_CHUNK = 900  # ids per IN list (SQLite's default limit of bound parameters is 999 on old builds)


class SelectionError(ValueError):
    """A selection's input was refused; the message is Russian and safe to show to the person."""


@dataclass(frozen=True)
class SelectionItem:
    premise_id: int
    added_at: dt.datetime
    added_by: int | None
    price_at_add: int | None
    status_at_add: str | None


@dataclass(frozen=True)
class Selection:
    id: int
    name: str
    client_id: int | None
    client_name: str | None
    owner_id: int
    agency_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    item_count: int
    items: tuple[SelectionItem, ...] = ()  # filled by `get_selection`, empty in lists


@dataclass(frozen=True)
class FollowedItem:
    """A premise in one of the reader's selections, with what the reader last saw of it."""

    selection_id: int
    selection_name: str
    premise_id: int
    added_at: dt.datetime
    price_at_add: int | None
    status_at_add: str | None
    seen_status: str | None  # None: never marked seen; compare with status_at_add then
    seen_price: int | None
    seen_at: dt.datetime | None

    @property
    def baseline_status(self) -> str | None:
        return self.status_at_add if self.seen_at is None else self.seen_status

    @property
    def baseline_price(self) -> int | None:
        return self.price_at_add if self.seen_at is None else self.seen_price


def clean_name(name: str) -> str:
    text = " ".join((name or "").split())
    if not text:
        raise SelectionError("Назовите подборку: название не может быть пустым.")
    if len(text) > NAME_MAX:
        raise SelectionError(f"Название подборки длиннее {NAME_MAX} символов — сократите его.")
    return text


def _clean_client_name(name: str | None) -> str | None:
    text = " ".join((name or "").split())
    if len(text) > CLIENT_NAME_MAX:
        raise SelectionError(f"Имя клиента длиннее {CLIENT_NAME_MAX} символов — сократите его.")
    return text or None


def _status(status: str | None) -> str | None:
    if status is not None and status not in STATUSES:
        raise SelectionError(f"Неизвестный статус помещения: {status!r}.")
    return status


def _in_reach(agent_ids: Collection[int] | None) -> sa.ColumnElement[bool]:
    """The owner filter of every read and change; callers return early for an empty scope."""
    if agent_ids is None:
        return sa.true()
    return selections.c.owner_id.in_(sorted({int(i) for i in agent_ids}))


def _nobody(agent_ids: Collection[int] | None) -> bool:
    return agent_ids is not None and not agent_ids


def _selection(row: RowMapping, items: tuple[SelectionItem, ...] = ()) -> Selection:
    return Selection(
        id=int(row["id"]),
        name=row["name"],
        client_id=row["client_id"],
        client_name=row["client_name"],
        owner_id=int(row["owner_id"]),
        agency_id=row["agency_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        item_count=int(row["item_count"]),
        items=items,
    )


def _item_count() -> sa.ScalarSelect[int]:
    return (
        sa.select(sa.func.count())
        .select_from(selection_items)
        .where(selection_items.c.selection_id == selections.c.id)
        .scalar_subquery()
    )


def create_selection(
    conn: Connection,
    *,
    name: str,
    owner_id: int,
    agency_id: int | None,
    client_id: int | None = None,
    client_name: str | None = None,
    at: dt.datetime | None = None,
) -> Selection:
    """A new, empty selection of `owner_id` (the acting user), for a client known by id and/or name."""
    when = at or utcnow()
    values = {
        "name": clean_name(name),
        "client_id": client_id,
        "client_name": _clean_client_name(client_name),
        "owner_id": int(owner_id),
        "agency_id": agency_id,
        "created_at": when,
        "updated_at": when,
    }
    new_id = conn.execute(sa.insert(selections).values(values).returning(selections.c.id)).scalar_one()
    return Selection(id=int(new_id), item_count=0, **values)  # type: ignore[arg-type]


def _touch(conn: Connection, selection_id: int, agent_ids: Collection[int] | None, **values: object) -> bool:
    """Update the selection (and its `updated_at`) when it is in reach; False when it is not."""
    if _nobody(agent_ids):
        return False
    result = conn.execute(
        sa.update(selections)
        .where(selections.c.id == selection_id, _in_reach(agent_ids))
        .values(updated_at=values.pop("at", None) or utcnow(), **values)
    )
    return result.rowcount == 1


def rename_selection(
    conn: Connection,
    selection_id: int,
    name: str,
    *,
    agent_ids: Collection[int] | None,
    at: dt.datetime | None = None,
) -> bool:
    """True when renamed; False when no selection with this id is in the reader's reach."""
    return _touch(conn, selection_id, agent_ids, name=clean_name(name), at=at)


def set_client(
    conn: Connection,
    selection_id: int,
    *,
    client_id: int | None,
    client_name: str | None,
    agent_ids: Collection[int] | None,
    at: dt.datetime | None = None,
) -> bool:
    return _touch(
        conn, selection_id, agent_ids, client_id=client_id, client_name=_clean_client_name(client_name), at=at
    )


def add_premise(
    conn: Connection,
    selection_id: int,
    *,
    premise_id: int,
    price: int | None,
    status: str | None,
    added_by: int | None,
    agent_ids: Collection[int] | None,
    at: dt.datetime | None = None,
) -> bool:
    """Add a premise with its price and status now (from the cache). True when added; False when it was
    in the selection already (its first price and status are kept). Raises `SelectionError` when the
    selection is not in the reader's reach."""
    when = at or utcnow()
    if not _touch(conn, selection_id, agent_ids, at=when):
        raise SelectionError("Подборка не найдена или недоступна.")
    added = conn.execute(
        insert(conn, selection_items)
        .values(
            selection_id=selection_id,
            premise_id=int(premise_id),
            added_at=when,
            added_by=added_by,
            price_at_add=price,
            status_at_add=_status(status),
        )
        .on_conflict_do_nothing(index_elements=["selection_id", "premise_id"])
        .returning(selection_items.c.premise_id)
    ).first()
    return added is not None


def remove_premise(
    conn: Connection, selection_id: int, premise_id: int, *, agent_ids: Collection[int] | None
) -> bool:
    """True when the premise was in the selection and is removed."""
    if not _touch(conn, selection_id, agent_ids):
        return False
    result = conn.execute(
        sa.delete(selection_items).where(
            selection_items.c.selection_id == selection_id, selection_items.c.premise_id == premise_id
        )
    )
    return result.rowcount == 1


def delete_selection(conn: Connection, selection_id: int, *, agent_ids: Collection[int] | None) -> bool:
    """Delete a selection in reach; its items go with it (the foreign key cascades)."""
    if _nobody(agent_ids):
        return False
    result = conn.execute(sa.delete(selections).where(selections.c.id == selection_id, _in_reach(agent_ids)))
    return result.rowcount == 1


def get_selection(
    conn: Connection, selection_id: int, *, agent_ids: Collection[int] | None
) -> Selection | None:
    """One selection with its items (oldest added first), or None when it is not in reach."""
    if _nobody(agent_ids):
        return None
    row = (
        conn.execute(
            sa.select(selections, _item_count().label("item_count")).where(
                selections.c.id == selection_id, _in_reach(agent_ids)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    items = tuple(
        SelectionItem(
            premise_id=int(r["premise_id"]),
            added_at=r["added_at"],
            added_by=r["added_by"],
            price_at_add=r["price_at_add"],
            status_at_add=r["status_at_add"],
        )
        for r in conn.execute(
            sa.select(selection_items)
            .where(selection_items.c.selection_id == selection_id)
            .order_by(selection_items.c.added_at, selection_items.c.premise_id)
        ).mappings()
    )
    return _selection(row, items)


def list_selections(
    conn: Connection,
    *,
    agent_ids: Collection[int] | None,
    owner_id: int | None = None,
    client_id: int | None = None,
    limit: int | None = 200,
    offset: int = 0,
) -> list[Selection]:
    """Selections in the reader's reach, most recently changed first, with their item counts."""
    if _nobody(agent_ids):
        return []
    query = (
        sa.select(selections, _item_count().label("item_count"))
        .where(_in_reach(agent_ids))
        .order_by(selections.c.updated_at.desc(), selections.c.id.desc())
        .offset(offset)
    )
    if owner_id is not None:
        query = query.where(selections.c.owner_id == owner_id)
    if client_id is not None:
        query = query.where(selections.c.client_id == client_id)
    if limit is not None:
        query = query.limit(limit)
    return [_selection(row) for row in conn.execute(query).mappings()]


def selections_with_premise(
    conn: Connection, premise_id: int, *, agent_ids: Collection[int] | None
) -> list[int]:
    """Ids of the reader's selections that hold this premise (a chessboard cell says «в подборке»)."""
    if _nobody(agent_ids):
        return []
    query = (
        sa.select(selection_items.c.selection_id)
        .join(selections, selections.c.id == selection_items.c.selection_id)
        .where(selection_items.c.premise_id == premise_id, _in_reach(agent_ids))
        .order_by(selection_items.c.selection_id)
    )
    return [int(i) for i in conn.execute(query).scalars()]


def premises_in_selections(
    conn: Connection,
    premise_ids: Iterable[int],
    *,
    agent_ids: Collection[int] | None,
    owner_id: int | None = None,
) -> set[int]:
    """Which of `premise_ids` are in a selection in the reader's reach (of `owner_id`'s, when given):
    the chessboard marks those cells «в подборке». Chunked, so a building of thousands of premises
    stays within every backend's parameter limit."""
    wanted = sorted({int(i) for i in premise_ids})
    if _nobody(agent_ids) or not wanted:
        return set()
    found: set[int] = set()
    for start in range(0, len(wanted), _CHUNK):
        query = (
            sa.select(selection_items.c.premise_id)
            .distinct()
            .join(selections, selections.c.id == selection_items.c.selection_id)
            .where(selection_items.c.premise_id.in_(wanted[start : start + _CHUNK]), _in_reach(agent_ids))
        )
        if owner_id is not None:
            query = query.where(selections.c.owner_id == owner_id)
        found.update(int(i) for i in conn.execute(query).scalars())
    return found


# --- what a person follows and last saw («Сегодня») ------------------------------------------------


def followed_items(
    conn: Connection, user_id: int, *, agent_ids: Collection[int] | None
) -> list[FollowedItem]:
    """Every premise in the selections `user_id` owns and may read, with what they last saw of it."""
    if _nobody(agent_ids):
        return []
    seen = premise_views.alias("seen")
    query = (
        sa.select(
            selections.c.id.label("selection_id"),
            selections.c.name.label("selection_name"),
            selection_items.c.premise_id,
            selection_items.c.added_at,
            selection_items.c.price_at_add,
            selection_items.c.status_at_add,
            seen.c.status.label("seen_status"),
            seen.c.price.label("seen_price"),
            seen.c.seen_at,
        )
        .join(selection_items, selection_items.c.selection_id == selections.c.id)
        .outerjoin(
            seen, sa.and_(seen.c.user_id == user_id, seen.c.premise_id == selection_items.c.premise_id)
        )
        .where(selections.c.owner_id == user_id, _in_reach(agent_ids))
        .order_by(selections.c.id, selection_items.c.premise_id)
    )
    return [FollowedItem(**dict(row)) for row in conn.execute(query).mappings()]


def mark_seen(
    conn: Connection,
    user_id: int,
    seen: Iterable[tuple[int, str | None, int | None]],
    *,
    at: dt.datetime | None = None,
) -> None:
    """Remember (premise id, status, price) as what `user_id` saw now, and that they looked now."""
    when = at or utcnow()
    latest = {int(pid): (_status(status), price) for pid, status, price in seen}
    rows = [
        {"user_id": user_id, "premise_id": pid, "status": status, "price": price, "seen_at": when}
        for pid, (status, price) in sorted(latest.items())
    ]
    if rows:
        stmt = insert(conn, premise_views)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["user_id", "premise_id"],
                set_={"status": stmt.excluded.status, "price": stmt.excluded.price, "seen_at": when},
            ),
            rows,
        )
    set_mark(conn, user_id, TODAY_LOOKED, at=when)


def set_mark(conn: Connection, user_id: int, mark: str, *, at: dt.datetime | None = None) -> None:
    stmt = insert(conn, user_marks).values(user_id=user_id, mark=mark, at=at or utcnow())
    conn.execute(
        stmt.on_conflict_do_update(index_elements=["user_id", "mark"], set_={"at": stmt.excluded.at})
    )


def get_mark(conn: Connection, user_id: int, mark: str) -> dt.datetime | None:
    return conn.execute(
        sa.select(user_marks.c.at).where(user_marks.c.user_id == user_id, user_marks.c.mark == mark)
    ).scalar()


def premise_ids(selection: Selection) -> Sequence[int]:
    return [item.premise_id for item in selection.items]
