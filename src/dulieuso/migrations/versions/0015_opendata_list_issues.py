"""opendata: issued versions of the open-data list

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-28 16:10:00

The PPC Chairman issues the open-data list by decision (Decree 47 Art. 17(2), kept as
local policy): ``open_data_list_issues`` holds each recorded decision with a frozen
snapshot of the plan, ``open_data_list_issue_items`` the planned datasets on it, for
the publication gate's lookup. The new policy unit ``switch`` needs no schema change:
``policies.unit`` is a non-native enum (a VARCHAR(40) without a CHECK constraint).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dulieuso.db

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "open_data_list_issues",
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("decision_number", sa.String(length=120), nullable=False),
        sa.Column("decision_date", sa.Date(), nullable=False),
        sa.Column("signer", sa.String(length=200), nullable=False),
        sa.Column("signer_title", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("issued_at", dulieuso.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=254), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_data_list_issues")),
        sa.UniqueConstraint("number", name=op.f("uq_open_data_list_issues_number")),
    )
    op.create_table(
        "open_data_list_issue_items",
        sa.Column("issue_id", sa.Uuid(), nullable=False),
        sa.Column("plan_item_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["open_data_list_issues.id"],
            name=op.f("fk_open_data_list_issue_items_issue_id_open_data_list_issues"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("issue_id", "plan_item_id", name=op.f("pk_open_data_list_issue_items")),
    )
    with op.batch_alter_table("open_data_list_issue_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_open_data_list_issue_items_plan_item_id"), ["plan_item_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("open_data_list_issue_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_open_data_list_issue_items_plan_item_id"))
    op.drop_table("open_data_list_issue_items")
    op.drop_table("open_data_list_issues")
