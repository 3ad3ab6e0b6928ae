"""catalog: drop the search-row indexes the SQL search used

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 15:15:00

The catalog search reads ``catalog_search_rows`` whole into each process's memory
(0010), so the indexes for reading in name order and counting facets in SQL are no
longer read, only written on every publish. Only catalog tables are touched.
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_catalog_search_rows_name_code": ["name", "code"],
    "ix_catalog_search_rows_level": ["level"],
    "ix_catalog_search_rows_importance": ["importance"],
    "ix_catalog_search_rows_forms": ["form_open_data", "form_default", "form_special_request", "form_not_shared"],
}


def upgrade() -> None:
    with op.batch_alter_table("catalog_search_rows", schema=None) as batch_op:
        for name in INDEXES:
            batch_op.drop_index(name)


def downgrade() -> None:
    with op.batch_alter_table("catalog_search_rows", schema=None) as batch_op:
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
