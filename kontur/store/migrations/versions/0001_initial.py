"""The operational store from empty: users directory, audit, records made through Kontur, the booking
quota ledger, idempotency keys of submissions, and the bookkeeping of moves from a DuckDB cache.

A frozen copy of the shapes in `kontur/store/schema.py` at the time: never edit it once released, add
a new revision instead.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def _recorded() -> list[sa.Column]:
    return [
        sa.Column("recorded_at", _TS, nullable=False),
        sa.Column("recorded_by", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("last_name", sa.String(), nullable=False),
        sa.Column("first_name", sa.String(), nullable=False),
        sa.Column("phone", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("email_key", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("temporary_role", sa.String(), nullable=True),
        sa.Column("city_id", sa.BigInteger(), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("agency_id", sa.BigInteger(), nullable=True),
        sa.Column("work_start_date", sa.Date(), nullable=True),
        sa.Column("avatar", sa.String(), nullable=True),
        sa.Column("remaining_user_creation_limit", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("updated_by", sa.String(), nullable=True),
        sa.Column("pushed_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
    )
    op.create_index("ix_users_email_key", "users", ["email_key"])
    op.create_index("ix_users_agency_id", "users", ["agency_id"])

    op.create_table(
        "actions",
        sa.Column("id", _AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("actor", sa.String(), nullable=True),
        sa.Column("on_behalf_of", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("request", _JSON, nullable=True),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("brusnika_id", sa.BigInteger(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(64), nullable=True),
        sa.Column("legacy_key", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_actions"),
        sa.UniqueConstraint("legacy_key", name="uq_actions_legacy_key"),
    )
    op.create_index("ix_actions_actor_id", "actions", ["actor_id"])
    op.create_index("ix_actions_on_behalf_of", "actions", ["on_behalf_of"])
    op.create_index("ix_actions_idempotency_key", "actions", ["idempotency_key"])
    op.create_index("ix_actions_at_id", "actions", ["at", "id"])

    op.create_table(
        "bookings",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("premise_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.BigInteger(), nullable=False),
        sa.Column("agent_id", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("time", sa.String(5), nullable=False),
        sa.Column("purchase_option", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        *_recorded(),
        sa.PrimaryKeyConstraint("id", name="pk_bookings"),
    )
    op.create_index("ix_bookings_agent_id", "bookings", ["agent_id"])

    op.create_table(
        "visits",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("agent_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("time", sa.String(5), nullable=False),
        sa.Column("time_slot_id", sa.BigInteger(), nullable=True),
        sa.Column("request_date", _TS, nullable=True),
        sa.Column("request_time", _TS, nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        *_recorded(),
        sa.PrimaryKeyConstraint("id", name="pk_visits"),
    )
    op.create_index("ix_visits_agent_id", "visits", ["agent_id"])

    op.create_table(
        "clients",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("fullname", sa.String(), nullable=False),
        sa.Column("fullname_key", sa.String(), nullable=False),
        sa.Column("phone_number", sa.String(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("agent_id", sa.BigInteger(), nullable=False),
        sa.Column("actived_date", _TS, nullable=True),
        sa.Column("fixing_type_updated_at", _TS, nullable=True),
        sa.Column("expiration_date", _TS, nullable=True),
        sa.Column("fixing_type", sa.String(), nullable=False),
        *_recorded(),
        sa.PrimaryKeyConstraint("id", name="pk_clients"),
    )
    op.create_index("ix_clients_phone_number", "clients", ["phone_number"])
    op.create_index("ix_clients_agent_id", "clients", ["agent_id"])

    op.create_table(
        "agencies",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("city_id", sa.BigInteger(), nullable=False),
        sa.Column("legal_name", sa.String(), nullable=False),
        sa.Column("inn", sa.String(12), nullable=False),
        sa.Column("phone", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("owner_full_name", sa.String(), nullable=False),
        sa.Column("owner_phone", sa.String(), nullable=False),
        *_recorded(),
        sa.PrimaryKeyConstraint("id", name="pk_agencies"),
    )
    op.create_index("ix_agencies_inn", "agencies", ["inn"])

    op.create_table(
        "booking_quota",
        sa.Column("booking_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("agent_id", sa.BigInteger(), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("remaining_after", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("booking_id", name="pk_booking_quota"),
    )
    op.create_index("ix_booking_quota_agent_id", "booking_quota", ["agent_id"])

    op.create_table(
        "submissions",
        sa.Column("id", _AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("form", sa.String(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("settled_at", _TS, nullable=True),
        sa.Column("outcome", sa.String(), nullable=True),
        sa.Column("brusnika_id", sa.BigInteger(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("retired_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_submissions"),
        sa.UniqueConstraint("key", name="uq_submissions_key"),
    )
    op.create_index(
        "ux_submissions_live",
        "submissions",
        ["form", "fingerprint", "actor_id"],
        unique=True,
        postgresql_where=sa.text("retired_at IS NULL"),
        sqlite_where=sa.text("retired_at IS NULL"),
    )

    op.create_table(
        "cache_moves",
        sa.Column("id", _AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("report", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cache_moves"),
    )
    op.create_table(
        "cache_move_rejects",
        sa.Column("id", _AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("source_table", sa.String(), nullable=False),
        sa.Column("row_key", sa.String(), nullable=False),
        sa.Column("raw", _JSON, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cache_move_rejects"),
        sa.UniqueConstraint("source_table", "row_key", name="ux_cache_move_rejects_row"),
    )


def downgrade() -> None:
    for table in (
        "cache_move_rejects",
        "cache_moves",
        "submissions",
        "booking_quota",
        "agencies",
        "clients",
        "visits",
        "bookings",
        "actions",
        "users",
    ):
        op.drop_table(table)
