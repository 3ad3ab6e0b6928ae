"""opendata: datasets, resources, tags, topic groups, licences, revisions, download
counts and the dataset search index

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 10:30:00

Only open-data tables are touched (this branch starts at 0002, for the catalog's
``databases`` a dataset comes from).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dulieuso.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    licenses = op.create_table('licenses',
    sa.Column('id', sa.String(length=60), nullable=False),
    sa.Column('title_vi', sa.String(length=200), nullable=False),
    sa.Column('title_en', sa.String(length=200), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('is_open', sa.Boolean(), nullable=False),
    sa.Column('attribution_required', sa.Boolean(), nullable=False),
    sa.Column('terms_vi', sa.Text(), nullable=False),
    sa.Column('terms_en', sa.Text(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_licenses'))
    )
    op.create_table('tags',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('folded', sa.String(length=100), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tags')),
    sa.UniqueConstraint('name', name=op.f('uq_tags_name'))
    )
    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tags_folded'), ['folded'], unique=False)

    op.create_table('topic_groups',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('title_vi', sa.String(length=200), nullable=False),
    sa.Column('title_en', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('image_url', sa.String(length=500), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', dulieuso.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_topic_groups')),
    sa.UniqueConstraint('name', name=op.f('uq_topic_groups_name'))
    )
    op.create_table('datasets',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('title_en', sa.String(length=300), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('source_database_id', sa.Uuid(), nullable=True),
    sa.Column('license_id', sa.String(length=60), nullable=False),
    sa.Column('attribution', sa.Text(), nullable=False),
    sa.Column('update_frequency', sa.String(length=40), nullable=True),
    sa.Column('temporal_from', sa.Date(), nullable=True),
    sa.Column('temporal_to', sa.Date(), nullable=True),
    sa.Column('spatial', sa.String(length=60), nullable=False),
    sa.Column('spatial_label', sa.String(length=200), nullable=False),
    sa.Column('contact_name', sa.String(length=200), nullable=False),
    sa.Column('contact_email', sa.String(length=254), nullable=False),
    sa.Column('private', sa.Boolean(), nullable=False),
    sa.Column('state', sa.Enum('draft', 'active', 'deleted', name='dataset_state', native_enum=False, length=40), nullable=False),
    sa.Column('version', sa.String(length=60), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('published_at', dulieuso.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('metadata_created', dulieuso.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('metadata_modified', dulieuso.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_update_due', sa.Date(), nullable=True),
    sa.Column('creator_user_id', sa.Uuid(), nullable=True),
    sa.Column('download_count', sa.BigInteger(), nullable=False),
    sa.Column('api_call_count', sa.BigInteger(), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('quality_score', sa.Float(), nullable=False),
    sa.Column('quality', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_datasets_agency_id_agencies'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['creator_user_id'], ['users.id'], name=op.f('fk_datasets_creator_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['license_id'], ['licenses.id'], name=op.f('fk_datasets_license_id_licenses'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['source_database_id'], ['databases.id'], name=op.f('fk_datasets_source_database_id_databases'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datasets')),
    sa.UniqueConstraint('name', name=op.f('uq_datasets_name'))
    )
    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_datasets_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_datasets_download_count'), ['download_count'], unique=False)
        batch_op.create_index(batch_op.f('ix_datasets_license_id'), ['license_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_datasets_metadata_modified'), ['metadata_modified'], unique=False)
        batch_op.create_index(batch_op.f('ix_datasets_next_update_due'), ['next_update_due'], unique=False)
        batch_op.create_index(batch_op.f('ix_datasets_source_database_id'), ['source_database_id'], unique=False)
        batch_op.create_index('ix_datasets_state_private_agency_id', ['state', 'private', 'agency_id'], unique=False)
        batch_op.create_index('ix_datasets_state_private_license_id', ['state', 'private', 'license_id'], unique=False)
        batch_op.create_index('ix_datasets_id_state_private', ['id', 'state', 'private'], unique=False)

    op.create_table('dataset_groups',
    sa.Column('dataset_id', sa.Uuid(), nullable=False),
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_dataset_groups_dataset_id_datasets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['topic_groups.id'], name=op.f('fk_dataset_groups_group_id_topic_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dataset_id', 'group_id', name=op.f('pk_dataset_groups'))
    )
    with op.batch_alter_table('dataset_groups', schema=None) as batch_op:
        batch_op.create_index('ix_dataset_groups_group_id_dataset_id', ['group_id', 'dataset_id'], unique=False)

    op.create_table('dataset_revisions',
    sa.Column('dataset_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('created_at', dulieuso.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_label', sa.String(length=254), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_dataset_revisions_dataset_id_datasets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dataset_revisions')),
    sa.UniqueConstraint('dataset_id', 'number', name=op.f('uq_dataset_revisions_dataset_id'))
    )
    with op.batch_alter_table('dataset_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dataset_revisions_dataset_id'), ['dataset_id'], unique=False)

    op.create_table('dataset_search_terms',
    sa.Column('dataset_id', sa.Uuid(), nullable=False),
    sa.Column('term', sa.String(length=60), nullable=False),
    sa.Column('weight', sa.SmallInteger(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_dataset_search_terms_dataset_id_datasets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dataset_id', 'term', name=op.f('pk_dataset_search_terms'))
    )
    with op.batch_alter_table('dataset_search_terms', schema=None) as batch_op:
        batch_op.create_index('ix_dataset_search_terms_term_dataset_id', ['term', 'dataset_id', 'weight'], unique=False)

    op.create_table('dataset_tags',
    sa.Column('dataset_id', sa.Uuid(), nullable=False),
    sa.Column('tag_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_dataset_tags_dataset_id_datasets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['tags.id'], name=op.f('fk_dataset_tags_tag_id_tags'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dataset_id', 'tag_id', name=op.f('pk_dataset_tags'))
    )
    with op.batch_alter_table('dataset_tags', schema=None) as batch_op:
        batch_op.create_index('ix_dataset_tags_tag_id_dataset_id', ['tag_id', 'dataset_id'], unique=False)

    op.create_table('download_counts',
    sa.Column('dataset_id', sa.Uuid(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('downloads', sa.BigInteger(), nullable=False),
    sa.Column('api_calls', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_download_counts_dataset_id_datasets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dataset_id', 'day', name=op.f('pk_download_counts'))
    )
    with op.batch_alter_table('download_counts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_download_counts_day'), ['day'], unique=False)

    op.create_table('resources',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('dataset_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('url_type', sa.Enum('upload', 'link', name='url_type', native_enum=False, length=40), nullable=False),
    sa.Column('url', sa.String(length=1000), nullable=False),
    sa.Column('format', sa.String(length=40), nullable=False),
    sa.Column('mimetype', sa.String(length=120), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('hash', sa.String(length=80), nullable=False),
    sa.Column('filename', sa.String(length=300), nullable=False),
    sa.Column('storage_path', sa.String(length=500), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created', dulieuso.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_modified', dulieuso.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('datastore_active', sa.Boolean(), nullable=False),
    sa.Column('datastore_version', sa.Integer(), nullable=True),
    sa.Column('datastore_rows', sa.BigInteger(), nullable=True),
    sa.Column('ingest_job_id', sa.String(length=64), nullable=True),
    sa.Column('ingest_status', sa.Enum('none', 'queued', 'running', 'succeeded', 'failed', 'cancelled', 'lost', name='ingest_status', native_enum=False, length=40), nullable=False),
    sa.Column('ingest_progress', sa.Float(), nullable=False),
    sa.Column('ingest_stage', sa.String(length=200), nullable=False),
    sa.Column('ingest_error', sa.JSON(), nullable=True),
    sa.Column('dictionary', sa.JSON(), nullable=False),
    sa.Column('pii_status', sa.Enum('not_scanned', 'clear', 'review', 'personal_data', name='pii_status', native_enum=False, length=40), nullable=False),
    sa.Column('pii_version', sa.Integer(), nullable=True),
    sa.Column('pii_report', sa.JSON(), nullable=True),
    sa.Column('pii_override_reason', sa.Text(), nullable=True),
    sa.Column('pii_override_by', sa.String(length=254), nullable=True),
    sa.Column('pii_override_at', dulieuso.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('pii_override_version', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_resources_dataset_id_datasets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resources'))
    )
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resources_dataset_id'), ['dataset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_resources_format'), ['format'], unique=False)


    # Reference data: the licence list (opendata/data/licenses.yaml).
    from dulieuso.opendata.licenses import seed_rows

    op.bulk_insert(licenses, [dict(row) for row in seed_rows()])


def downgrade() -> None:
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resources_format'))
        batch_op.drop_index(batch_op.f('ix_resources_dataset_id'))

    op.drop_table('resources')
    with op.batch_alter_table('download_counts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_download_counts_day'))

    op.drop_table('download_counts')
    with op.batch_alter_table('dataset_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_dataset_tags_tag_id_dataset_id')

    op.drop_table('dataset_tags')
    with op.batch_alter_table('dataset_search_terms', schema=None) as batch_op:
        batch_op.drop_index('ix_dataset_search_terms_term_dataset_id')

    op.drop_table('dataset_search_terms')
    with op.batch_alter_table('dataset_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dataset_revisions_dataset_id'))

    op.drop_table('dataset_revisions')
    with op.batch_alter_table('dataset_groups', schema=None) as batch_op:
        batch_op.drop_index('ix_dataset_groups_group_id_dataset_id')

    op.drop_table('dataset_groups')
    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.drop_index('ix_datasets_state_private_license_id')
        batch_op.drop_index('ix_datasets_id_state_private')
        batch_op.drop_index('ix_datasets_state_private_agency_id')
        batch_op.drop_index(batch_op.f('ix_datasets_source_database_id'))
        batch_op.drop_index(batch_op.f('ix_datasets_next_update_due'))
        batch_op.drop_index(batch_op.f('ix_datasets_metadata_modified'))
        batch_op.drop_index(batch_op.f('ix_datasets_license_id'))
        batch_op.drop_index(batch_op.f('ix_datasets_download_count'))
        batch_op.drop_index(batch_op.f('ix_datasets_agency_id'))

    op.drop_table('datasets')
    op.drop_table('topic_groups')
    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tags_folded'))

    op.drop_table('tags')
    op.drop_table('licenses')
