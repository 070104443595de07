"""Funnel reach on a hand-built set of leads, against a reach computed another way (per lead: the set
of stages it passed), in the reader's scope; and the one definition of "won"."""

from __future__ import annotations

import datetime as dt
import itertools
import random

import pytest

from kontur.auth.scopes import ReadScope
from kontur.cache import Cache
from kontur.queries import funnel
from kontur.queries import leads as lead_q
from kontur.queries.filters import LeadFilters

STAGES_IN_ORDER = [
    "проверка лида",
    "открыта",
    "интерес к покупке",
    "презентация",
    "бронь",
    "заявка на договор",
    "договор зарегистрирован",
    "выиграна",
]
ALL_STAGES = [*STAGES_IN_ORDER, "отмененная бронь", "слетевшая бронь", "проиграна", "на паузе"]


def passed(stage: str) -> set[str]:
    """The stages a lead now at `stage` went through, written out by the business rule."""
    if stage in ("отмененная бронь", "слетевшая бронь"):
        stop = "бронь"
    elif stage in ("проиграна", "на паузе"):
        stop = "проверка лида"
    else:
        stop = stage
    out = set()
    for s in STAGES_IN_ORDER:
        out.add(s)
        if s == stop:
            break
    return out


def _insert(cache: Cache, leads: list[tuple[int, int, int, str, str]]) -> None:
    """(id, agent_id, project_id, current_status, state)."""
    cur = cache.cursor()
    try:
        cur.execute(
            "INSERT INTO cities (id, name, long, lat, updated_at) VALUES (1, 'Тюмень', 65.5, 57.1, now())"
        )
        cur.execute(
            "INSERT INTO cities (id, name, long, lat, updated_at) VALUES (2, 'Пермь', 56.2, 58.0, now())"
        )
        cur.executemany(
            "INSERT INTO projects (id, city_id, name, end_date, updated_at) VALUES (?, ?, ?, ?, now())",
            [(10, 1, "Тюмень-1", dt.date(2027, 12, 31)), (20, 2, "Пермь-1", dt.date(2028, 6, 30))],
        )
        cur.executemany(
            "INSERT INTO leads (id, client_id, project_id, premise_id, state, current_status,"
            " sign_nps_passed,"
            " fee, start_date, status_updated_at, agent_id, manager_id, updated_at)"
            " VALUES (?, ?, ?, NULL, ?, ?, false, 0, DATE '2026-11-01', now(), ?, NULL, now())",
            [(i, 1000 + i, project, state, stage, agent) for i, agent, project, stage, state in leads],
        )
    finally:
        cur.close()


def _hand_built() -> list[tuple[int, int, int, str, str]]:
    rng = random.Random(14)
    ids = itertools.count(1)
    leads = []
    # every stage at least once per agent, then a random mix
    for agent, project in ((1, 10), (2, 10), (3, 20)):
        for stage in ALL_STAGES:
            leads.append((next(ids), agent, project, stage, "Активные"))
    for _ in range(300):
        leads.append(
            (next(ids), rng.choice([1, 2, 3]), rng.choice([10, 20]), rng.choice(ALL_STAGES), "Активные")
        )
    return leads


def _expected(leads: list[tuple[int, int, int, str, str]]) -> dict[str, int]:
    return {s: sum(1 for lead in leads if s in passed(lead[3])) for s in STAGES_IN_ORDER}


def test_reach_counts_cancelled_and_fallen_bookings_up_to_booking(cache: Cache) -> None:
    leads = [
        (1, 1, 10, "отмененная бронь", "Проиграна"),
        (2, 1, 10, "слетевшая бронь", "Проиграна"),
        (3, 1, 10, "презентация", "Активные"),
        (4, 1, 10, "проиграна", "Проиграна"),
    ]
    _insert(cache, leads)
    with cache.reader() as cur:
        result = lead_q.funnel(cur, ReadScope.everyone(), LeadFilters())
    reached = dict(zip(result.funnel["stage"], result.funnel["reached"], strict=True))
    assert reached["бронь"] == 2  # the two bookings that did not hold
    assert reached["презентация"] == 3
    assert reached["заявка на договор"] == 0
    assert reached["проверка лида"] == 4  # the lost lead entered the funnel
    at_stage = dict(zip(result.funnel["stage"], result.funnel["at_stage"], strict=True))
    assert at_stage["бронь"] == 0  # nobody is at «бронь» now
    assert result.total == 4


def test_reach_matches_an_independent_count_per_lead(cache: Cache) -> None:
    leads = _hand_built()
    _insert(cache, leads)
    with cache.reader() as cur:
        result = lead_q.funnel(cur, ReadScope.everyone(), LeadFilters())
    got = dict(zip(result.funnel["stage"], result.funnel["reached"], strict=True))
    assert got == _expected(leads)
    assert result.total == len(leads)
    conversion = list(result.funnel["conversion"])
    expected = _expected(leads)
    for i in range(1, len(STAGES_IN_ORDER)):
        prev, this = expected[STAGES_IN_ORDER[i - 1]], expected[STAGES_IN_ORDER[i]]
        assert conversion[i] == pytest.approx(this / prev)
    outcomes = dict(zip(result.outcomes["stage"], result.outcomes["n"], strict=True))
    assert outcomes["отмененная бронь"] == sum(1 for lead in leads if lead[3] == "отмененная бронь")


@pytest.mark.parametrize(
    ("scope", "filters", "keep"),
    [
        (ReadScope(frozenset({1, 2})), LeadFilters(), lambda lead: lead[1] in (1, 2)),
        (ReadScope(frozenset({3})), LeadFilters(), lambda lead: lead[1] == 3),
        (ReadScope.everyone(), LeadFilters(city_id=2), lambda lead: lead[2] == 20),
        (ReadScope(frozenset({1})), LeadFilters(project_id=10), lambda lead: lead[1] == 1 and lead[2] == 10),
    ],
)
def test_reach_is_counted_in_the_readers_scope(
    cache: Cache, scope: ReadScope, filters: LeadFilters, keep
) -> None:
    leads = _hand_built()
    _insert(cache, leads)
    with cache.reader() as cur:
        result = lead_q.funnel(cur, scope, filters)
    kept = [lead for lead in leads if keep(lead)]
    assert dict(zip(result.funnel["stage"], result.funnel["reached"], strict=True)) == _expected(kept)
    assert result.total == len(kept)


def test_no_scope_counts_nothing(cache: Cache) -> None:
    _insert(cache, _hand_built())
    with cache.reader() as cur:
        result = lead_q.funnel(cur, ReadScope.no_one(), LeadFilters())
        won = funnel.won(cur, ReadScope.no_one(), LeadFilters())
    assert result.total == 0
    assert list(result.funnel["reached"]) == [0] * len(STAGES_IN_ORDER)
    assert won == funnel.Won(0, {}, 0)


def test_won_is_the_stage_with_the_state_beside(cache: Cache) -> None:
    leads = [
        (1, 1, 10, "выиграна", "Выиграна"),
        (2, 1, 10, "выиграна", "Выиграна"),
        (3, 1, 10, "выиграна", "Активные"),  # stage says won, state lags behind
        (4, 1, 10, "договор зарегистрирован", "Выиграна"),  # state says won, stage does not
        (5, 2, 10, "бронь", "Активные"),
    ]
    _insert(cache, leads)
    with cache.reader() as cur:
        won = funnel.won(cur, ReadScope.everyone(), LeadFilters())
        mine = funnel.won(cur, ReadScope(frozenset({2})), LeadFilters())
        reach = lead_q.funnel(cur, ReadScope.everyone(), LeadFilters())
    assert won.won == 3
    assert won.by_state == {"Выиграна": 2, "Активные": 1}
    assert won.state_only == 1
    assert mine == funnel.Won(0, {}, 0)
    # the funnel's last stage is the same number as the KPI
    assert int(reach.funnel["reached"].iloc[-1]) == won.won


def test_an_empty_cache_file_gives_an_empty_funnel(tmp_path) -> None:
    import duckdb

    con = duckdb.connect(str(tmp_path / "empty.duckdb"))
    try:
        assert lead_q.funnel(con, ReadScope.everyone(), LeadFilters()).total == 0
    finally:
        con.close()
