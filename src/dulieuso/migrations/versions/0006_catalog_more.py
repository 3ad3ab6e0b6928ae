"""catalog: published entries and the search index of the public catalog

Revision ID: 0006
Revises: 0002
Create Date: 2026-11-28 10:10:00

Only catalog tables are touched (this branch starts at 0002, the catalog's own
migration).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dulieuso.db

revision = "0006"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_public_entries",
        sa.Column("database_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("owner_agency_id", sa.Uuid(), nullable=False),
        sa.Column("agency_code", sa.String(length=40), nullable=False),
        sa.Column("agency_name", sa.String(length=300), nullable=False),
        sa.Column(
            "level",
            sa.Enum("national", "ministry", "sector", "local_shared", "internal", name="database_level", native_enum=False, length=40),
            nullable=True,
        ),
        sa.Column(
            "importance",
            sa.Enum("core", "important", "other", name="importance", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("form_open_data", sa.Boolean(), nullable=False),
        sa.Column("form_default", sa.Boolean(), nullable=False),
        sa.Column("form_special_request", sa.Boolean(), nullable=False),
        sa.Column("form_not_shared", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("published_at", dulieuso.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("entry", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["database_id"], ["databases.id"],
            name=op.f("fk_catalog_public_entries_database_id_databases"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_agency_id"], ["agencies.id"],
            name=op.f("fk_catalog_public_entries_owner_agency_id_agencies"), ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("database_id", name=op.f("pk_catalog_public_entries")),
        sa.UniqueConstraint("code", name=op.f("uq_catalog_public_entries_code")),
    )
    with op.batch_alter_table("catalog_public_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalog_public_entries_owner_agency_id"), ["owner_agency_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_catalog_public_entries_level"), ["level"], unique=False)
        batch_op.create_index(batch_op.f("ix_catalog_public_entries_importance"), ["importance"], unique=False)

    op.create_table(
        "catalog_search_terms",
        sa.Column("database_id", sa.Uuid(), nullable=False),
        sa.Column("term", sa.String(length=60), nullable=False),
        sa.Column("weight", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["database_id"], ["catalog_public_entries.database_id"],
            name=op.f("fk_catalog_search_terms_database_id_catalog_public_entries"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("database_id", "term", name=op.f("pk_catalog_search_terms")),
    )
    with op.batch_alter_table("catalog_search_terms", schema=None) as batch_op:
        batch_op.create_index("ix_catalog_search_terms_term_database_id", ["term", "database_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("catalog_search_terms", schema=None) as batch_op:
        batch_op.drop_index("ix_catalog_search_terms_term_database_id")
    op.drop_table("catalog_search_terms")
    with op.batch_alter_table("catalog_public_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_public_entries_importance"))
        batch_op.drop_index(batch_op.f("ix_catalog_public_entries_level"))
        batch_op.drop_index(batch_op.f("ix_catalog_public_entries_owner_agency_id"))
    op.drop_table("catalog_public_entries")
