"""The operational store's tables as they are now (SQLAlchemy Core), the shape the code reads and writes.

Migrations (`kontur/store/migrations/versions/`) create and change them; a test compares this module
with what the migrations built on both backends, so the two cannot drift apart. Column names are the
snake_case of the wire fields (as in the cache's local tables), plus who recorded a row and when.

Timestamps are stored in UTC: `UTCDateTime` refuses naive datetimes on the way in and marks what SQLite
gives back (it keeps no offset) as UTC on the way out.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the store keeps timezone-aware timestamps only")
        utc = value.astimezone(dt.UTC)
        # SQLite would store the offset as text and compare strings: keep every value in one form.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


# Autoincrementing ids: BIGINT on PostgreSQL; SQLite only autoincrements an INTEGER PRIMARY KEY (which
# is 64-bit there anyway).
AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# The request body of an audit row; JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
Json = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")

# Deterministic constraint and index names, the same on both backends (migrations spell them out).
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = sa.MetaData(naming_convention=NAMING)


def _recorded() -> list[sa.Column[Any]]:
    """Who recorded a Brusnika answer here and when; `updated_at` moves when a later answer replaced it."""
    return [
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.BigInteger(), nullable=True),  # the acting user's id (None: a tool)
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    ]


# The users directory. Kontur owns it: users are created and edited here and pushed to Brusnika.
users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("last_name", sa.String(), nullable=False),
    sa.Column("first_name", sa.String(), nullable=False),
    sa.Column("phone", sa.String(), nullable=False),
    sa.Column("email", sa.String(), nullable=False),
    # lower(trim(email)): what sign-in matches on (providers and directories disagree on case).
    sa.Column("email_key", sa.String(), nullable=False, index=True),
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("role", sa.String(), nullable=False),
    sa.Column("temporary_role", sa.String(), nullable=True),
    sa.Column("city_id", sa.BigInteger(), nullable=True),
    sa.Column("birth_date", sa.Date(), nullable=True),
    sa.Column("agency_id", sa.BigInteger(), nullable=True, index=True),
    sa.Column("work_start_date", sa.Date(), nullable=True),
    sa.Column("avatar", sa.String(), nullable=True),
    sa.Column("remaining_user_creation_limit", sa.Integer(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("updated_by", sa.String(), nullable=True),  # who made the last change (display text)
    sa.Column("pushed_at", UTCDateTime(), nullable=True),  # last accepted `PUT /users/{id}`
)

# The audit: every outbound action, who did it, for which agent, what was sent, how it ended.
actions = sa.Table(
    "actions",
    metadata,
    sa.Column("id", AutoId, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("actor_id", sa.BigInteger(), nullable=True, index=True),
    sa.Column("actor", sa.String(), nullable=True),  # display: "Фамилия Имя <email> (#id)", "cli: root"
    sa.Column("on_behalf_of", sa.BigInteger(), nullable=True, index=True),  # the agent acted for
    sa.Column("action", sa.String(), nullable=False),
    sa.Column("request", Json, nullable=True),  # the request body, secrets scrubbed
    sa.Column("outcome", sa.String(), nullable=False),
    sa.Column("brusnika_id", sa.BigInteger(), nullable=True),
    sa.Column("message", sa.Text(), nullable=True),
    sa.Column("idempotency_key", sa.String(64), nullable=True, index=True),
    # Rows moved from a DuckDB cache: content hash + occurrence, so a second move adds nothing.
    sa.Column("legacy_key", sa.String(), nullable=True, unique=True),
    sa.Index("ix_actions_at_id", "at", "id"),
)

bookings = sa.Table(
    "bookings",
    metadata,
    sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("premise_id", sa.BigInteger(), nullable=False),
    sa.Column("client_id", sa.BigInteger(), nullable=False),
    sa.Column("agent_id", sa.BigInteger(), nullable=False, index=True),
    sa.Column("date", sa.Date(), nullable=False),
    sa.Column("time", sa.String(5), nullable=False),
    sa.Column("purchase_option", sa.String(), nullable=False),
    sa.Column("status", sa.String(), nullable=False),
    *_recorded(),
)

visits = sa.Table(
    "visits",
    metadata,
    sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("project_id", sa.BigInteger(), nullable=False),
    sa.Column("agent_id", sa.BigInteger(), nullable=False, index=True),
    sa.Column("client_id", sa.BigInteger(), nullable=False),
    sa.Column("date", sa.Date(), nullable=False),
    sa.Column("time", sa.String(5), nullable=False),
    sa.Column("time_slot_id", sa.BigInteger(), nullable=True),
    sa.Column("request_date", UTCDateTime(), nullable=True),
    sa.Column("request_time", UTCDateTime(), nullable=True),
    sa.Column("status", sa.String(), nullable=False),
    *_recorded(),
)

clients = sa.Table(
    "clients",
    metadata,
    sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("fullname", sa.String(), nullable=False),
    # casefold(fullname): name search that folds Cyrillic case on both backends (SQLite's lower() and
    # PostgreSQL's under the C locale fold ASCII only).
    sa.Column("fullname_key", sa.String(), nullable=False),
    sa.Column("phone_number", sa.String(), nullable=False, index=True),
    sa.Column("comment", sa.Text(), nullable=False),
    sa.Column("agent_id", sa.BigInteger(), nullable=False, index=True),
    sa.Column("actived_date", UTCDateTime(), nullable=True),
    sa.Column("fixing_type_updated_at", UTCDateTime(), nullable=True),
    sa.Column("expiration_date", UTCDateTime(), nullable=True),
    sa.Column("fixing_type", sa.String(), nullable=False),
    *_recorded(),
)

agencies = sa.Table(
    "agencies",
    metadata,
    sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("title", sa.String(), nullable=False),
    sa.Column("city_id", sa.BigInteger(), nullable=False),
    sa.Column("legal_name", sa.String(), nullable=False),
    sa.Column("inn", sa.String(12), nullable=False, index=True),
    sa.Column("phone", sa.String(), nullable=False),
    sa.Column("email", sa.String(), nullable=False),
    sa.Column("owner_full_name", sa.String(), nullable=False),
    sa.Column("owner_phone", sa.String(), nullable=False),
    *_recorded(),
)

# One row per booking id ever counted against an agent's limit: the primary key is what makes "decrement
# once per booking" hold when two replicas record the same answer at the same moment.
booking_quota = sa.Table(
    "booking_quota",
    metadata,
    sa.Column("booking_id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("agent_id", sa.BigInteger(), nullable=False, index=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("remaining_after", sa.Integer(), nullable=True),  # None: the agent is not in the directory
)

# Idempotency keys of submissions, shared by replicas: the same (form, fingerprint, actor) gets the same
# key until it is retired or too old for Brusnika to remember it.
submissions = sa.Table(
    "submissions",
    metadata,
    sa.Column("id", AutoId, primary_key=True, autoincrement=True),
    sa.Column("form", sa.String(), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("actor_id", sa.BigInteger(), nullable=False),
    sa.Column("key", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("settled_at", UTCDateTime(), nullable=True),
    sa.Column("outcome", sa.String(), nullable=True),  # success | refused | invalid | failed | unknown
    sa.Column("brusnika_id", sa.BigInteger(), nullable=True),
    sa.Column("message", sa.Text(), nullable=True),
    sa.Column("retired_at", UTCDateTime(), nullable=True),
    sa.Index(
        "ux_submissions_live",
        "form",
        "fingerprint",
        "actor_id",
        unique=True,
        postgresql_where=sa.text("retired_at IS NULL"),
        sqlite_where=sa.text("retired_at IS NULL"),
    ),
)

# Moves of a DuckDB cache's local tables into this store: one row per run, and every source row that
# could not be stored (it breaks the wire model), kept with the reason instead of dropped.
cache_moves = sa.Table(
    "cache_moves",
    metadata,
    sa.Column("id", AutoId, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("source", sa.String(), nullable=False),
    sa.Column("report", Json, nullable=False),
)

cache_move_rejects = sa.Table(
    "cache_move_rejects",
    metadata,
    sa.Column("id", AutoId, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("source", sa.String(), nullable=False),
    sa.Column("source_table", sa.String(), nullable=False),
    sa.Column("row_key", sa.String(), nullable=False),
    sa.Column("raw", Json, nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.UniqueConstraint("source_table", "row_key", name="ux_cache_move_rejects_row"),
)


# --- selections (issue 14): premises a manager or agent collects for a client -------------------
# A selection belongs to the user who made it (`owner_id`, an agent id for read scopes) and their
# agency at the time. Items remember the premise's price and status when it was added, so the view can
# say what changed since; the live values come from the cache.
selections = sa.Table(
    "selections",
    metadata,
    sa.Column("id", AutoId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("client_id", sa.BigInteger(), nullable=True, index=True),  # Brusnika's client id, if known
    sa.Column("client_name", sa.String(300), nullable=True),  # as typed, when the client has no id here
    sa.Column("owner_id", sa.BigInteger(), nullable=False, index=True),
    sa.Column("agency_id", sa.BigInteger(), nullable=True, index=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

selection_items = sa.Table(
    "selection_items",
    metadata,
    sa.Column(
        "selection_id",
        AutoId,
        sa.ForeignKey("selections.id", ondelete="CASCADE", name="fk_selection_items_selection_id"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("premise_id", sa.BigInteger(), primary_key=True, autoincrement=False, index=True),
    sa.Column("added_at", UTCDateTime(), nullable=False),
    sa.Column("added_by", sa.BigInteger(), nullable=True),
    sa.Column("price_at_add", sa.BigInteger(), nullable=True),  # roubles; None: not in the cache then
    sa.Column("status_at_add", sa.String(8), nullable=True),  # free | booked | sold
)

# What each person last saw of a premise they follow (the «Сегодня» page reports what changed since),
# and when they last looked at all.
premise_views = sa.Table(
    "premise_views",
    metadata,
    sa.Column("user_id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("premise_id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("status", sa.String(8), nullable=True),
    sa.Column("price", sa.BigInteger(), nullable=True),
    sa.Column("seen_at", UTCDateTime(), nullable=False),
)

user_marks = sa.Table(
    "user_marks",
    metadata,
    sa.Column("user_id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("mark", sa.String(40), primary_key=True),  # e.g. "today_looked"
    sa.Column("at", UTCDateTime(), nullable=False),
)
