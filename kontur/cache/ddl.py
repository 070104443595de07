"""Every table of the cache file, in one place: inbound (from `kontur.schema`), local outbound
records, sync bookkeeping, Kafka progress, consumer restarts, and the lead summary tables.

Only constants and statements built from them (identifiers from our own tables, never values).
`kontur.cache.migrations` applies them in numbered steps; the lead summary tables are versioned on
their own (`SUMMARY_VERSION`) and (re)made by the load path, which keeps them exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kontur.schema import COLUMNS, TABLES

# Local tables of earlier versions (outbound records as Brusnika answered them, the users directory),
# snake_case of the wire fields, plus when we stored them. Kontur's own records now live in the
# operational store (`kontur.store`); nothing writes these any more. Migration 1 still creates them (an
# applied migration never changes), `kontur.store.legacy` moves what an old file holds into the store,
# and `migrations.retire_local_tables` drops them once the store recorded that move.
LOCAL_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "users": (
        ("id", "BIGINT"),
        ("last_name", "VARCHAR"),
        ("first_name", "VARCHAR"),
        ("phone", "VARCHAR"),
        ("email", "VARCHAR"),
        ("status", "VARCHAR"),
        ("role", "VARCHAR"),
        ("temporary_role", "VARCHAR"),
        ("city_id", "BIGINT"),
        ("birth_date", "DATE"),
        ("agency_id", "BIGINT"),
        ("work_start_date", "DATE"),
        ("avatar", "VARCHAR"),
        ("remaining_user_creation_limit", "INTEGER"),
        ("recorded_at", "TIMESTAMPTZ"),
    ),
    "agencies": (
        ("id", "BIGINT"),
        ("title", "VARCHAR"),
        ("city_id", "BIGINT"),
        ("legal_name", "VARCHAR"),
        ("inn", "VARCHAR"),
        ("phone", "VARCHAR"),
        ("email", "VARCHAR"),
        ("owner_full_name", "VARCHAR"),
        ("owner_phone", "VARCHAR"),
        ("recorded_at", "TIMESTAMPTZ"),
    ),
    "clients": (
        ("id", "BIGINT"),
        ("fullname", "VARCHAR"),
        ("phone_number", "VARCHAR"),
        ("comment", "VARCHAR"),
        ("agent_id", "BIGINT"),
        ("actived_date", "TIMESTAMPTZ"),
        ("fixing_type_updated_at", "TIMESTAMPTZ"),
        ("expiration_date", "TIMESTAMPTZ"),
        ("fixing_type", "VARCHAR"),
        ("recorded_at", "TIMESTAMPTZ"),
    ),
    "bookings": (
        ("id", "BIGINT"),
        ("premise_id", "BIGINT"),
        ("client_id", "BIGINT"),
        ("agent_id", "BIGINT"),
        ("date", "DATE"),
        ("time", "VARCHAR"),
        ("purchase_option", "VARCHAR"),
        ("status", "VARCHAR"),
        ("recorded_at", "TIMESTAMPTZ"),
    ),
    "visits": (
        ("id", "BIGINT"),
        ("project_id", "BIGINT"),
        ("agent_id", "BIGINT"),
        ("client_id", "BIGINT"),
        ("date", "DATE"),
        ("time", "VARCHAR"),
        ("time_slot_id", "BIGINT"),
        ("request_date", "TIMESTAMPTZ"),
        ("request_time", "TIMESTAMPTZ"),
        ("status", "VARCHAR"),
        ("recorded_at", "TIMESTAMPTZ"),
    ),
}

# The cache's read-only mirror of the users directory (the store owns it): names, role, status and
# agency for the analytics joins (agent names on the deals page, `kontur.queries.people`). Rewritten
# from the store by `kontur.mirror` at start, after every change made through this process and every
# few seconds (other replicas' changes); sign-in, roles, blocks and scopes never read it.
DIRECTORY_MIRROR = "directory_mirror"
DIRECTORY_MIRROR_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "BIGINT"),
    ("last_name", "VARCHAR"),
    ("first_name", "VARCHAR"),
    ("role", "VARCHAR"),
    ("status", "VARCHAR"),
    ("agency_id", "BIGINT"),
)
# Tables of an older layout that Kontur's operational store replaced: dropped once moved.
RETIRED_TABLES: tuple[str, ...] = (*LOCAL_TABLES, "actions")

SCHEMA_VERSION_DDL = (
    "CREATE TABLE IF NOT EXISTS schema_version "
    "(version INTEGER NOT NULL, description VARCHAR, applied_at TIMESTAMPTZ NOT NULL)"
)

# Bookkeeping tables. Small, so a PRIMARY KEY costs nothing here (unlike on the inbound tables, where
# it makes upserts ~10x slower).
BOOKKEEPING_DDL: tuple[str, ...] = (
    "CREATE SEQUENCE IF NOT EXISTS sync_run_id START 1",
    """CREATE TABLE IF NOT EXISTS sync_runs (
        id BIGINT PRIMARY KEY DEFAULT nextval('sync_run_id'),
        transport VARCHAR NOT NULL,          -- rest | kafka
        mode VARCHAR NOT NULL,               -- full | incremental | mixed
        started_at TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ,
        status VARCHAR NOT NULL,             -- running | succeeded | failed
        loaded BIGINT NOT NULL DEFAULT 0,
        deleted BIGINT NOT NULL DEFAULT 0,
        rejected BIGINT NOT NULL DEFAULT 0,
        error VARCHAR,
        pid INTEGER
    )""",
    """CREATE TABLE IF NOT EXISTS sync_run_entities (
        run_id BIGINT NOT NULL,
        entity VARCHAR NOT NULL,
        mode VARCHAR NOT NULL,
        pages BIGINT NOT NULL DEFAULT 0,
        received BIGINT NOT NULL DEFAULT 0,  -- items seen on the wire (records and tombstones)
        loaded BIGINT NOT NULL DEFAULT 0,    -- rows written (inserted or replaced)
        deleted BIGINT NOT NULL DEFAULT 0,   -- rows removed (tombstones, or gone from the snapshot)
        rejected BIGINT NOT NULL DEFAULT 0,
        high_water TIMESTAMPTZ,
        PRIMARY KEY (run_id, entity)
    )""",
    """CREATE TABLE IF NOT EXISTS sync_state (
        entity VARCHAR PRIMARY KEY,
        high_water TIMESTAMPTZ,              -- the newest updated_at the cache has seen
        last_run_id BIGINT,
        last_success_at TIMESTAMPTZ
    )""",
    "CREATE SEQUENCE IF NOT EXISTS rejected_record_id START 1",
    """CREATE TABLE IF NOT EXISTS rejected_records (
        id BIGINT DEFAULT nextval('rejected_record_id'),
        run_id BIGINT,
        entity VARCHAR NOT NULL,
        source VARCHAR NOT NULL,             -- e.g. 'GET /premises page 12' or 'brusnika.leads/0@1234'
        record_id BIGINT,                    -- the record's id when it could be read
        raw JSON,
        reason VARCHAR NOT NULL,
        "at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
    )""",
    "CREATE SEQUENCE IF NOT EXISTS action_id START 1",
    """CREATE TABLE IF NOT EXISTS actions (
        id BIGINT DEFAULT nextval('action_id'),
        "at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
        actor VARCHAR,
        action VARCHAR NOT NULL,
        request JSON,                        -- the request body, never secrets
        outcome VARCHAR NOT NULL,            -- e.g. ok | conflict | rejected | error
        brusnika_id BIGINT,
        error VARCHAR
    )""",
)

# Kafka progress: what the cache has applied per consumer group and partition (written in the same
# transaction as each batch's data, so exact), and the partition's end as last seen (for the lag shown
# on the sync health page). `kontur.kafka.progress` reads and writes it.
KAFKA_OFFSETS_DDL = """CREATE TABLE IF NOT EXISTS kafka_offsets (
    group_id VARCHAR NOT NULL,
    topic VARCHAR NOT NULL,
    "partition" INTEGER NOT NULL,
    next_offset BIGINT NOT NULL,         -- first offset not yet applied to the cache
    high_watermark BIGINT,               -- the partition's end on the broker when last seen
    messages BIGINT NOT NULL DEFAULT 0,  -- messages applied (records, tombstones, rejected), cumulative
    updated_at TIMESTAMPTZ NOT NULL,     -- last batch applied
    watermark_at TIMESTAMPTZ,            -- when high_watermark was seen
    PRIMARY KEY (group_id, topic, "partition")
)"""

# Issue 12: why a run started (the schedule, a press of «Синхронизировать», the first fill of an empty
# cache, ...), what a successful run still wants said (e.g. deletions withheld), and every restart of
# the dashboard's Kafka consumer after an error.
RUN_TRIGGER_DDL = "ALTER TABLE sync_runs ADD COLUMN IF NOT EXISTS trigger VARCHAR"
RUN_NOTE_DDL = (
    "ALTER TABLE sync_runs ADD COLUMN IF NOT EXISTS note VARCHAR",
    "ALTER TABLE sync_run_entities ADD COLUMN IF NOT EXISTS note VARCHAR",
)
CONSUMER_RESTARTS_DDL: tuple[str, ...] = (
    "CREATE SEQUENCE IF NOT EXISTS consumer_restart_id START 1",
    """CREATE TABLE IF NOT EXISTS consumer_restarts (
        id BIGINT PRIMARY KEY DEFAULT nextval('consumer_restart_id'),
        group_id VARCHAR NOT NULL,
        failed_run_id BIGINT,                -- the consumer session (sync_runs) that stopped
        "at" TIMESTAMPTZ NOT NULL,           -- when it stopped
        error VARCHAR NOT NULL,
        attempt INTEGER NOT NULL,            -- consecutive failures so far (1 = the first)
        delay_seconds DOUBLE NOT NULL        -- how long the supervisor waits before the restart
    )""",
)


def table_ddl(table: str, columns: Sequence[tuple[str, str]], *, prefix: str = "CREATE TABLE") -> str:
    """DDL from our own constant column tables (identifiers only; never values)."""
    cols = ", ".join(f'"{name}" {sql_type}' for name, sql_type in columns)
    return f"{prefix} {table} ({cols})"


def inbound_ddl() -> list[str]:
    return [table_ddl(TABLES[e], COLUMNS[e], prefix="CREATE TABLE IF NOT EXISTS") for e in TABLES]


def local_ddl() -> list[str]:
    return [table_ddl(t, cols, prefix="CREATE TABLE IF NOT EXISTS") for t, cols in LOCAL_TABLES.items()]


def directory_mirror_ddl() -> str:
    return table_ddl(DIRECTORY_MIRROR, DIRECTORY_MIRROR_COLUMNS, prefix="CREATE TABLE IF NOT EXISTS")


# --- lead summary tables ---------------------------------------------------------------------------
# Small tables over `leads`, kept exact by the load path (`kontur.load.summaries`) and read by the leads
# page (`kontur.queries.summaries`, `kontur.queries.leads`). Versioned on their own: summaries of another
# SUMMARY_VERSION are rebuilt by the next load and ignored by readers until then.

# The oldest leads listed per (project, stage). A list always holds at least OLDEST_SHOWN of them (or
# the whole group), which is what the page reads; up to OLDEST_KEPT are kept so that a list losing a
# lead (it changed stage) rarely needs recomputing from `leads`.
OLDEST_KEPT = 10
OLDEST_SHOWN = 5
# 6 (5 was a development step): the stage and week summaries, the oldest lists and their groups are
# also per lead state, so the page's state filter reads them too (state follows the stage in practice:
# no more groups at scale 10); per-agent and per-manager sums by city, for the leaderboard and the
# people lists of a city.
SUMMARY_VERSION = 6
# A lead's city, through its project: summaries keyed by it are recomputed when a project's city
# changes (`kontur.load.summaries.cities_after`), so they always agree with `projects`. An aggregate,
# so that a project id stored twice could never fail the load's transaction ("more than one row").
LEAD_CITY = "(SELECT min(pc.city_id) FROM projects pc WHERE pc.id = project_id)"
# The key of a stage group: one summary row, one list of its oldest leads, one cut-off.
STAGE_GROUP = ("project_id", "current_status", "state")


@dataclass(frozen=True)
class Summable:
    """A summary table whose columns are all sums, so a delta of new − old rows corrects it."""

    table: str
    keys: tuple[tuple[str, str, str], ...]  # (column, type, expression over a leads row)
    values: tuple[tuple[str, str, str], ...]  # (column, type, aggregate over leads rows)


SUMMABLE: tuple[Summable, ...] = (
    Summable(
        "lead_agent_summary",
        # won_stage: the one definition of a won lead (stage `выиграна`), beside its state
        (
            ("agent_id", "BIGINT", "agent_id"),
            ("state", "VARCHAR", "state"),
            ("won_stage", "BOOLEAN", "current_status = 'выиграна'"),
        ),
        (
            ("n", "BIGINT", "count(*)"),
            ("fee", "DOUBLE", "coalesce(sum(fee), 0)"),
            ("nps_true", "BIGINT", "count_if(sign_nps_passed)"),
            ("nps_known", "BIGINT", "count(sign_nps_passed)"),
        ),
    ),
    Summable(
        "lead_stage_summary",
        (
            ("project_id", "BIGINT", "project_id"),
            ("current_status", "VARCHAR", "current_status"),
            ("state", "VARCHAR", "state"),
        ),
        (
            ("n", "BIGINT", "count(*)"),
            # microseconds, as an exact integer sum: doubles would drift under repeated +/- deltas
            ("epoch_us", "HUGEINT", "coalesce(sum(epoch_us(status_updated_at)::HUGEINT), 0)"),
        ),
    ),
    Summable(
        "lead_week_summary",
        (
            ("project_id", "BIGINT", "project_id"),
            ("week", "DATE", "date_trunc('week', start_date)::DATE"),
            ("state", "VARCHAR", "state"),
        ),
        (("n", "BIGINT", "count(*)"),),
    ),
    Summable(
        "lead_manager_summary",
        (("manager_id", "BIGINT", "manager_id"), ("city_id", "BIGINT", LEAD_CITY)),
        (("n", "BIGINT", "count(*)"),),
    ),
    # Per agent and city, with what the leaderboard shows already split (one row per agent of a city:
    # ~300k rows at scale 10, against 1.6M leads in the biggest city).
    Summable(
        "lead_agent_city_summary",
        (("agent_id", "BIGINT", "agent_id"), ("city_id", "BIGINT", LEAD_CITY)),
        (
            ("n", "BIGINT", "count(*)"),
            ("won", "BIGINT", "count_if(current_status = 'выиграна')"),
            ("won_state", "BIGINT", "count_if(state = 'Выиграна')"),
            ("fee_won", "DOUBLE", "coalesce(sum(fee) FILTER (WHERE current_status = 'выиграна'), 0)"),
            ("fee_pipeline", "DOUBLE", "coalesce(sum(fee) FILTER (WHERE state = 'Активные'), 0)"),
            ("nps_true", "BIGINT", "count_if(sign_nps_passed)"),
            ("nps_known", "BIGINT", "count(sign_nps_passed)"),
        ),
    ),
)
# The summaries keyed by LEAD_CITY.
CITY_SUMMARIES = ("lead_manager_summary", "lead_agent_city_summary")

SUMMARY_OLDEST = "lead_stage_oldest"
# Per stage group (STAGE_GROUP): `complete` (the list holds every lead of the group) or else the cut-off
# (cut_at, cut_id): the list holds exactly the group's leads ordered at or before it.
SUMMARY_GROUPS = "lead_stage_groups"
SUMMARY_META = "lead_summary_meta"
SUMMARY_TABLES = (*(s.table for s in SUMMABLE), SUMMARY_OLDEST, SUMMARY_GROUPS, SUMMARY_META)


def summary_ddl() -> list[str]:
    statements = []
    for s in SUMMABLE:
        cols = ", ".join(f"{name} {typ}" for name, typ, _ in (*s.keys, *s.values))
        statements.append(f"CREATE TABLE IF NOT EXISTS {s.table} ({cols})")
    statements += [
        f"CREATE TABLE IF NOT EXISTS {SUMMARY_OLDEST} (project_id BIGINT, current_status VARCHAR, "
        "state VARCHAR, id BIGINT, status_updated_at TIMESTAMPTZ, agent_id BIGINT, fee DOUBLE)",
        f"CREATE TABLE IF NOT EXISTS {SUMMARY_GROUPS} (project_id BIGINT, current_status VARCHAR, "
        "state VARCHAR, complete BOOLEAN, cut_at TIMESTAMPTZ, cut_id BIGINT)",
        f"CREATE TABLE IF NOT EXISTS {SUMMARY_META} (leads BIGINT, version INTEGER)",
    ]
    return statements
