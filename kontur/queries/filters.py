"""What the pages filter by, and the one place those filters become SQL.

Filters are frozen dataclasses so `st.cache_data` can hash them. A `Where` collects clauses written
here from constant text; every value travels as a positional parameter, never formatted into SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

# A premise's status as managers see it: sold wins over booked (a sold premise may keep its flag).
STATUS_SQL = "CASE WHEN p.is_sold THEN 'sold' WHEN p.is_booked THEN 'booked' ELSE 'free' END"
STATUSES: tuple[str, ...] = ("free", "booked", "sold")
# Roubles per m², rounded; NULL for a premise of zero (or missing) size rather than infinity.
PRICE_PER_M2 = "CASE WHEN p.size > 0 THEN round(p.price / p.size) END"


class RowScope(Protocol):
    """Whose rows a reader may see: `kontur.auth.scopes.ReadScope` fits (queries sit below auth in
    the layers, so they take it by shape, not by import)."""

    @property
    def everything(self) -> bool: ...

    @property
    def nothing(self) -> bool: ...

    def predicate(self, column: str) -> tuple[str, list[Any]]: ...


@dataclass(frozen=True)
class Filters:
    """The sidebar scope shared by every page: city → project → building (None = all)."""

    city_id: int | None = None
    project_id: int | None = None
    building_id: int | None = None


@dataclass(frozen=True)
class PremiseFilters:
    """Availability/chessboard filters on top of the scope. Empty tuples and None mean "any"."""

    scope: Filters = field(default_factory=Filters)
    types: tuple[str, ...] = ()
    rooms: tuple[int, ...] = ()
    price: tuple[int, int] | None = None
    size: tuple[float, float] | None = None
    floor: tuple[int, int] | None = None
    # a premise must have every selected feature (the manager narrows down)...
    features: tuple[str, ...] = ()
    # ...but only one of the selected purchase options (the buyer pays one way)
    purchase_options: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()


@dataclass(frozen=True)
class LeadFilters:
    """Leads page filters. The building of the scope does not apply: a lead belongs to a project."""

    city_id: int | None = None
    project_id: int | None = None
    agent_ids: tuple[int, ...] = ()
    manager_ids: tuple[int, ...] = ()
    states: tuple[str, ...] = ()
    start_from: date | None = None
    start_to: date | None = None


@dataclass
class Where:
    clauses: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, clause: str, *params: Any) -> None:
        self.clauses.append(clause)
        self.params.extend(params)

    @property
    def sql(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "TRUE"


def scope_where(scope: Filters, where: Where | None = None, *, alias: str = "p") -> Where:
    """Scope clauses over a table with `project_id` and `building_id` (premises)."""
    where = where or Where()
    if scope.city_id is not None:
        city_sql = f"{alias}.project_id IN (SELECT id FROM projects WHERE city_id = ?)"  # noqa: S608 -- own alias
        where.add(city_sql, scope.city_id)
    if scope.project_id is not None:
        where.add(f"{alias}.project_id = ?", scope.project_id)
    if scope.building_id is not None:
        where.add(f"{alias}.building_id = ?", scope.building_id)
    return where


def premise_where(f: PremiseFilters, *, with_scope: bool = True) -> Where:
    """Clauses over `premises p` for every set filter."""
    where = scope_where(f.scope) if with_scope else Where()
    if f.types:
        where.add("list_contains(?, p.type)", list(f.types))
    if f.rooms:
        where.add("list_contains(?, p.rooms)", list(f.rooms))
    if f.price is not None:
        where.add("p.price BETWEEN ? AND ?", *f.price)
    if f.size is not None:
        where.add("p.size BETWEEN ? AND ?", *f.size)
    if f.floor is not None:
        where.add("p.floor BETWEEN ? AND ?", *f.floor)
    # One list_contains per chosen value: ~10x faster than list_has_all/any with a list parameter over
    # a million premises. The text repeats a constant template; the values are parameters.
    if f.features:
        where.add(" AND ".join(["list_contains(p.feature, ?)"] * len(f.features)), *f.features)
    if f.purchase_options:
        options = " OR ".join(["list_contains(p.purchase_option, ?)"] * len(f.purchase_options))
        where.add(f"({options})", *f.purchase_options)
    if f.statuses:
        where.add(f"list_contains(?, {STATUS_SQL})", list(f.statuses))
    return where


def lead_where(f: LeadFilters, scope: RowScope) -> Where:
    """Clauses over `leads l`, the reader's scope first: whose leads they may see at all."""
    where = Where()
    if not scope.everything:
        sql, params = scope.predicate("l.agent_id")
        where.add(sql, *params)
    if f.city_id is not None:
        where.add("l.project_id IN (SELECT id FROM projects WHERE city_id = ?)", f.city_id)
    if f.project_id is not None:
        where.add("l.project_id = ?", f.project_id)
    if f.agent_ids:
        where.add("list_contains(?, l.agent_id)", list(f.agent_ids))
    if f.manager_ids:
        where.add("list_contains(?, l.manager_id)", list(f.manager_ids))
    if f.states:
        where.add("list_contains(?, l.state)", list(f.states))
    if f.start_from is not None:
        where.add("l.start_date >= ?", f.start_from)
    if f.start_to is not None:
        where.add("l.start_date <= ?", f.start_to)
    return where
