"""Selections of premises for a client (issue 14), what each person last saw of the premises they
follow, and per-person marks such as when they last looked at «Сегодня».

A frozen copy of the shapes in `kontur/store/schema.py` at the time: never edit it once released, add
a new revision instead.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "selections",
        sa.Column("id", _AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("client_id", sa.BigInteger(), nullable=True),
        sa.Column("client_name", sa.String(300), nullable=True),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("agency_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_selections"),
    )
    op.create_index("ix_selections_client_id", "selections", ["client_id"])
    op.create_index("ix_selections_owner_id", "selections", ["owner_id"])
    op.create_index("ix_selections_agency_id", "selections", ["agency_id"])

    op.create_table(
        "selection_items",
        sa.Column("selection_id", _AUTO_ID, autoincrement=False, nullable=False),
        sa.Column("premise_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("added_at", _TS, nullable=False),
        sa.Column("added_by", sa.BigInteger(), nullable=True),
        sa.Column("price_at_add", sa.BigInteger(), nullable=True),
        sa.Column("status_at_add", sa.String(8), nullable=True),
        sa.ForeignKeyConstraint(
            ["selection_id"],
            ["selections.id"],
            name="fk_selection_items_selection_id",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("selection_id", "premise_id", name="pk_selection_items"),
    )
    op.create_index("ix_selection_items_premise_id", "selection_items", ["premise_id"])

    op.create_table(
        "premise_views",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("premise_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(8), nullable=True),
        sa.Column("price", sa.BigInteger(), nullable=True),
        sa.Column("seen_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "premise_id", name="pk_premise_views"),
    )

    op.create_table(
        "user_marks",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("mark", sa.String(40), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "mark", name="pk_user_marks"),
    )


def downgrade() -> None:
    op.drop_table("user_marks")
    op.drop_table("premise_views")
    op.drop_index("ix_selection_items_premise_id", table_name="selection_items")
    op.drop_table("selection_items")
    op.drop_index("ix_selections_agency_id", table_name="selections")
    op.drop_index("ix_selections_owner_id", table_name="selections")
    op.drop_index("ix_selections_client_id", table_name="selections")
    op.drop_table("selections")
