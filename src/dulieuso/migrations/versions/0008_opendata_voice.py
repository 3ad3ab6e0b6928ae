# SPDX-License-Identifier: AGPL-3.0-or-later
"""opendata voice: data requests (votes, comments, follows, status history), dataset
feedback, the reuse showcase, abuse reports, the open-data plan and list reviews

Revision ID: 0008
Revises: 0003
Create Date: 2026-11-28 10:50:00

Written by hand (from an autogenerate run) so that only these tables are touched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dulieuso.db

revision = "0008"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('open_data_plan_phases',
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('target_count', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_data_plan_phases')),
    sa.UniqueConstraint('number', name=op.f('uq_open_data_plan_phases_number'))
    )
    op.create_table('open_data_list_reviews',
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('reviewed_on', sa.Date(), nullable=False),
    sa.Column('next_due', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('reviewed_by', sa.String(length=254), nullable=False),
    sa.Column('created_at', dulieuso.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_open_data_list_reviews_agency_id_agencies'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_data_list_reviews'))
    )
    with op.batch_alter_table('open_data_list_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_open_data_list_reviews_agency_id'), ['agency_id'], unique=False)

    op.create_table('abuse_reports',
    sa.Column('target_type', sa.Enum('data_request', 'comment', 'feedback', 'showcase', name='abuse_target', native_enum=False, length=40), nullable=False),
    sa.Column('target_id', sa.Uuid(), nullable=False),
    sa.Column('reason', sa.Enum('personal_data', 'explicit_content', 'illegal_content', 'security', 'spam', 'other', name='abuse_reason', native_enum=False, length=40), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('reporter_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', dulieuso.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('open', 'upheld', 'dismissed', name='abuse_status', native_enum=False, length=40), nullable=False),
    sa.Column('moderated_at', dulieuso.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('moderated_by', sa.String(length=254), nullable=False),
    sa.Column('moderation_reason', sa.Text(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['reporter_id'], ['users.id'], name=op.f('fk_abuse_reports_reporter_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_abuse_reports')),
    sa.UniqueConstraint('target_type', 'target_id', 'reporter_id', name='uq_abuse_reports_target_reporter')
    )
    with op.batch_alter_table('abuse_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_abuse_reports_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_abuse_reports_target_id'), ['target_id'], unique=False)

    op.create_table('showcases',
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.Enum('application', 'article', 'visualization', 'api', 'paper', 'other', name='showcase_kind', native_enum=False, length=40), nullable=False),
    sa.Column('url', sa.String(length=1000), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Uuid(), nullable=True),
    sa.Column('author_name', sa.String(length=200), nullable=False),
    sa.Column('created_at', dulieuso.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    sa.Column('hidden_reason', sa.Text(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_showcases_author_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_showcases'))
    )
    with op.batch_alter_table('showcases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_showcases_created_at'), ['created_at'], unique=False)

    op.create_table('data_requests',
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('use_case', sa.Text(), nullable=False),
    sa.Column('suggested_agency_id', sa.Uuid(), nullable=True),
    sa.Column('agency_id', sa.Uuid(), nullable=True),
    sa.Column('requester_id', sa.Uuid(), nullable=True),
    sa.Column('requester_name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.Enum('new', 'under_review', 'planned', 'published', 'declined', name='data_request_status', native_enum=False, length=40), nullable=False),
    sa.Column('received_at', dulieuso.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('responded_at', dulieuso.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('planned_date', sa.Date(), nullable=True),
    sa.Column('dataset_id', sa.Uuid(), nullable=True),
    sa.Column('decline_reason', sa.Text(), nullable=True),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('answered_at', dulieuso.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_by', sa.String(length=254), nullable=False),
    sa.Column('vote_count', sa.Integer(), nullable=False),
    sa.Column('follower_count', sa.Integer(), nullable=False),
    sa.Column('comment_count', sa.Integer(), nullable=False),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    sa.Column('hidden_reason', sa.Text(), nullable=True),
    sa.Column('updated_at', dulieuso.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_data_requests_agency_id_agencies'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_data_requests_dataset_id_datasets'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requester_id'], ['users.id'], name=op.f('fk_data_requests_requester_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['suggested_agency_id'], ['agencies.id'], name=op.f('fk_data_requests_suggested_agency_id_agencies'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_requests'))
    )
    with op.batch_alter_table('data_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_requests_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_data_requests_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_data_requests_requester_id'), ['requester_id'], unique=False)
        batch_op.create_index('ix_data_requests_status_vote_count', ['status', 'vote_count'], unique=False)

    op.create_table('dataset_feedback',
    sa.Column('dataset_id', sa.Uuid(), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('category', sa.Enum('quality', 'usability', 'format', 'compliance', 'other', name='feedback_category', native_enum=False, length=40), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Uuid(), nullable=True),
    sa.Column('author_name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.Enum('open', 'answered', name='feedback_status', native_enum=False, length=40), nullable=False),
    sa.Column('received_at', dulieuso.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('answered_at', dulieuso.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_by', sa.String(length=254), nullable=False),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    sa.Column('hidden_reason', sa.Text(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_dataset_feedback_agency_id_agencies'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_dataset_feedback_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_dataset_feedback_dataset_id_datasets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dataset_feedback'))
    )
    with op.batch_alter_table('dataset_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dataset_feedback_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dataset_feedback_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dataset_feedback_dataset_id'), ['dataset_id'], unique=False)

    op.create_table('showcase_datasets',
    sa.Column('showcase_id', sa.Uuid(), nullable=False),
    sa.Column('dataset_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_showcase_datasets_dataset_id_datasets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['showcase_id'], ['showcases.id'], name=op.f('fk_showcase_datasets_showcase_id_showcases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('showcase_id', 'dataset_id', name=op.f('pk_showcase_datasets'))
    )
    with op.batch_alter_table('showcase_datasets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_showcase_datasets_dataset_id'), ['dataset_id'], unique=False)

    op.create_table('data_request_comments',
    sa.Column('request_id', sa.Uuid(), nullable=False),
    sa.Column('author_id', sa.Uuid(), nullable=True),
    sa.Column('author_name', sa.String(length=200), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', dulieuso.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    sa.Column('hidden_reason', sa.Text(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_data_request_comments_agency_id_agencies'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_data_request_comments_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['request_id'], ['data_requests.id'], name=op.f('fk_data_request_comments_request_id_data_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_request_comments'))
    )
    with op.batch_alter_table('data_request_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_request_comments_request_id'), ['request_id'], unique=False)

    op.create_table('data_request_follows',
    sa.Column('request_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', dulieuso.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['data_requests.id'], name=op.f('fk_data_request_follows_request_id_data_requests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_data_request_follows_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('request_id', 'user_id', name=op.f('pk_data_request_follows'))
    )
    with op.batch_alter_table('data_request_follows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_request_follows_user_id'), ['user_id'], unique=False)

    op.create_table('data_request_status_changes',
    sa.Column('request_id', sa.Uuid(), nullable=False),
    sa.Column('from_status', sa.String(length=40), nullable=True),
    sa.Column('to_status', sa.String(length=40), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('at', dulieuso.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['data_requests.id'], name=op.f('fk_data_request_status_changes_request_id_data_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_request_status_changes'))
    )
    with op.batch_alter_table('data_request_status_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_request_status_changes_request_id'), ['request_id'], unique=False)

    op.create_table('data_request_votes',
    sa.Column('request_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', dulieuso.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['data_requests.id'], name=op.f('fk_data_request_votes_request_id_data_requests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_data_request_votes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('request_id', 'user_id', name=op.f('pk_data_request_votes'))
    )
    with op.batch_alter_table('data_request_votes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_request_votes_user_id'), ['user_id'], unique=False)

    op.create_table('open_data_plan_items',
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('source_database_id', sa.Uuid(), nullable=True),
    sa.Column('target_date', sa.Date(), nullable=False),
    sa.Column('phase_id', sa.Uuid(), nullable=True),
    sa.Column('dataset_id', sa.Uuid(), nullable=True),
    sa.Column('request_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', dulieuso.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_open_data_plan_items_agency_id_agencies'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_open_data_plan_items_dataset_id_datasets'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['phase_id'], ['open_data_plan_phases.id'], name=op.f('fk_open_data_plan_items_phase_id_open_data_plan_phases'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['request_id'], ['data_requests.id'], name=op.f('fk_open_data_plan_items_request_id_data_requests'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['source_database_id'], ['databases.id'], name=op.f('fk_open_data_plan_items_source_database_id_databases'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_data_plan_items'))
    )
    with op.batch_alter_table('open_data_plan_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_open_data_plan_items_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_open_data_plan_items_phase_id'), ['phase_id'], unique=False)



def downgrade() -> None:
    op.drop_table('open_data_plan_items')
    op.drop_table('data_request_votes')
    op.drop_table('data_request_status_changes')
    op.drop_table('data_request_follows')
    op.drop_table('data_request_comments')
    op.drop_table('showcase_datasets')
    op.drop_table('dataset_feedback')
    op.drop_table('data_requests')
    op.drop_table('showcases')
    op.drop_table('abuse_reports')
    op.drop_table('open_data_list_reviews')
    op.drop_table('open_data_plan_phases')
