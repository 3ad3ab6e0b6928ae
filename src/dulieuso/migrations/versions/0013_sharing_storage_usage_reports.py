"""sharing: storage declarations (Art. 42) and usage reports (Art. 51(1)(b))

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28 16:00:00

A connection request now declares how the consumer keeps the data it retrieves
(``storage_mode``: ``none``, ``cache`` within the period of use, or ``beyond_validity``
with the days and the reason), and a grant records what the provider accepted, with the
explicit permission that storage beyond the period of use needs (``storage_permitted``,
``storage_days``, ``storage_until``, ``storage_note``). Existing requests and grants
become ``none``: nothing was declared, so nothing was permitted.

``sharing_usage_reports`` holds the usage reports a provider demands of a consumer about
a grant, due in working days (policy ``usage_report_response``). Only sharing tables are
touched; every new column is added in place with a default (no table copy).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dulieuso.db

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_STORAGE_MODE = sa.Enum("none", "cache", "beyond_validity", name="storage_mode", native_enum=False, length=40)


def upgrade() -> None:
    op.add_column("connection_requests", sa.Column("storage_mode", _STORAGE_MODE, server_default="none", nullable=False))
    op.add_column("connection_requests", sa.Column("storage_days", sa.Integer(), nullable=True))
    op.add_column("connection_requests", sa.Column("storage_reason", sa.Text(), server_default="", nullable=False))

    op.add_column("grants", sa.Column("storage_mode", _STORAGE_MODE, server_default="none", nullable=False))
    op.add_column("grants", sa.Column("storage_permitted", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("grants", sa.Column("storage_days", sa.Integer(), nullable=True))
    op.add_column("grants", sa.Column("storage_until", sa.Date(), nullable=True))
    op.add_column("grants", sa.Column("storage_note", sa.Text(), server_default="", nullable=False))

    op.create_table(
        "sharing_usage_reports",
        sa.Column("grant_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=True),
        sa.Column("period_to", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("requested", "answered", name="usage_report_status", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("requested_at", dulieuso.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(length=254), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("overdue_alerted_at", dulieuso.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retrieved_data", sa.Text(), nullable=True),
        sa.Column("purposes", sa.Text(), nullable=True),
        sa.Column("storage", sa.Text(), nullable=True),
        sa.Column("incidents", sa.Text(), nullable=True),
        sa.Column("answered_at", dulieuso.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=254), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", dulieuso.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", dulieuso.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["grants.id"], name=op.f("fk_sharing_usage_reports_grant_id_grants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_usage_reports")),
    )
    with op.batch_alter_table("sharing_usage_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sharing_usage_reports_grant_id"), ["grant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sharing_usage_reports_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_sharing_usage_reports_due_on"), ["due_on"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sharing_usage_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sharing_usage_reports_due_on"))
        batch_op.drop_index(batch_op.f("ix_sharing_usage_reports_status"))
        batch_op.drop_index(batch_op.f("ix_sharing_usage_reports_grant_id"))
    op.drop_table("sharing_usage_reports")
    # SQLite ≥ 3.35 and PostgreSQL drop the columns in place.
    for column in ("storage_note", "storage_until", "storage_days", "storage_permitted", "storage_mode"):
        op.drop_column("grants", column)
    for column in ("storage_reason", "storage_days", "storage_mode"):
        op.drop_column("connection_requests", column)
