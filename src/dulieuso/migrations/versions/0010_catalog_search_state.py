"""catalog: the search-index change token

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 13:10:00

The public catalog's search now runs over an in-memory copy of the index in each
process (``catalog.search``); ``catalog_search_state`` holds the token that tells a
process its copy is out of date. Only catalog tables are touched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    state = op.create_table(
        "catalog_search_state",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_search_state")),
    )
    op.bulk_insert(state, [{"id": 1, "token": "initial"}])


def downgrade() -> None:
    op.drop_table("catalog_search_state")
