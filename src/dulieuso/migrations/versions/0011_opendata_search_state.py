"""opendata: the change tokens of the in-memory dataset search

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 14:00:00

Dataset search (``opendata.search``, and through it the CKAN facade's ``package_search``)
now runs over an in-memory index in each process. ``dataset_search_state`` holds the token
that tells a process its index is out of date; ``dataset_search_changes`` chains the
committed changes (token, previous token, datasets), so that a process reloads only the
datasets changed since its token; ``datasets.search_token`` changes with every dataset
change, for a process that cannot follow the chain (it then compares every dataset's
token, through the index on ``(id, search_token)`` rather than the wide rows). Existing
datasets start with an empty token. Only open-data tables are touched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dulieuso.db import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    state = op.create_table(
        "dataset_search_state",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_search_state")),
    )
    op.bulk_insert(state, [{"id": 1, "token": "initial"}])
    op.create_table(
        "dataset_search_changes",
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("previous", sa.String(length=32), nullable=False),
        sa.Column("dataset_ids", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_dataset_search_changes")),
    )
    op.create_index(op.f("ix_dataset_search_changes_created_at"), "dataset_search_changes", ["created_at"], unique=False)
    # A plain ADD COLUMN (no batch copy of the table): SQLite accepts NOT NULL with a default.
    op.add_column("datasets", sa.Column("search_token", sa.String(length=32), server_default="", nullable=False))
    op.create_index("ix_datasets_id_search_token", "datasets", ["id", "search_token"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_dataset_search_changes_created_at"), table_name="dataset_search_changes")
    op.drop_table("dataset_search_changes")
    op.drop_index("ix_datasets_id_search_token", table_name="datasets")
    # ALTER TABLE DROP COLUMN (SQLite 3.35+), not a batch copy: with foreign keys on, dropping
    # the old ``datasets`` table of a batch copy would delete every dataset's resources.
    op.drop_column("datasets", "search_token")
    op.drop_table("dataset_search_state")
