"""sharing log: append-only, hash-chained entries and signed checkpoints (Decree 47 Art. 45)

Revision ID: 0005
Revises: 0002
Written by hand so that it only creates the sharing-log tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dulieuso.db

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = dulieuso.db.UTCDateTime(timezone=True)

# Entries may only be deleted once a signed retention anchor covers them (log purge).
_ANCHORED = (
    "(SELECT coalesce(max(last_seq), 0) FROM sharing_log_checkpoints WHERE kind = 'anchor')"
)


def upgrade() -> None:
    op.create_table(
        "sharing_log_entries",
        sa.Column("seq", SEQ, autoincrement=False, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("request_at", WHEN, nullable=False),
        sa.Column("response_at", WHEN, nullable=False),
        sa.Column("latency_us", sa.BigInteger(), nullable=False),
        sa.Column("consumer_agency_id", sa.String(36), nullable=True),
        sa.Column("consumer_agency_code", sa.String(60), nullable=True),
        sa.Column("application_id", sa.String(36), nullable=True),
        sa.Column("account_id", sa.String(36), nullable=True),
        sa.Column("client_id", sa.String(120), nullable=True),
        sa.Column("service_id", sa.String(36), nullable=True),
        sa.Column("service_code", sa.String(120), nullable=True),
        sa.Column("service_version", sa.String(40), nullable=True),
        sa.Column("provider_agency_id", sa.String(36), nullable=True),
        sa.Column("operation", sa.String(200), nullable=True),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(80), nullable=False),
        sa.Column("bytes_in", sa.BigInteger(), nullable=False),
        sa.Column("bytes_out", sa.BigInteger(), nullable=False),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("response_sha256", sa.String(64), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("case_id", sa.String(200), nullable=True),
        sa.Column("end_user", sa.String(200), nullable=True),
        sa.Column("agreement_id", sa.String(36), nullable=True),
        sa.Column("grant_id", sa.String(36), nullable=True),
        sa.Column("fields_returned", sa.Text(), nullable=True),
        sa.Column("client_ip", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_sharing_log_entries")),
    )
    op.create_index("ix_sharing_log_entries_request_at", "sharing_log_entries", ["request_at"])
    op.create_index("ix_sharing_log_entries_request_id", "sharing_log_entries", ["request_id"])
    op.create_index("ix_sharing_log_entries_service_code", "sharing_log_entries", ["service_code"])
    op.create_index(
        "ix_sharing_log_entries_consumer_agency_id", "sharing_log_entries", ["consumer_agency_id"]
    )
    op.create_table(
        "sharing_log_checkpoints",
        sa.Column("id", SEQ, autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.Column("archive_digest", sa.String(64), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("prev_checkpoint_hash", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(100), nullable=False),
        sa.Column("checkpoint_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_log_checkpoints")),
    )
    op.create_index("ix_sharing_log_checkpoints_last_seq", "sharing_log_checkpoints", ["last_seq"])

    # Append-only in the database as well as in the code (like audit_events in 0001).
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER sharing_log_entries_no_update BEFORE UPDATE ON sharing_log_entries "
            "BEGIN SELECT RAISE(ABORT, 'sharing_log_entries is append-only'); END"
        )
        op.execute(
            "CREATE TRIGGER sharing_log_entries_no_delete BEFORE DELETE ON sharing_log_entries "
            f"WHEN OLD.seq > {_ANCHORED} "
            "BEGIN SELECT RAISE(ABORT, 'sharing_log_entries is append-only'); END"
        )
        op.execute(
            "CREATE TRIGGER sharing_log_checkpoints_no_update BEFORE UPDATE ON sharing_log_checkpoints "
            "BEGIN SELECT RAISE(ABORT, 'sharing_log_checkpoints is append-only'); END"
        )
        op.execute(
            "CREATE TRIGGER sharing_log_checkpoints_no_delete BEFORE DELETE ON sharing_log_checkpoints "
            "BEGIN SELECT RAISE(ABORT, 'sharing_log_checkpoints is append-only'); END"
        )
    else:
        op.execute(
            "CREATE FUNCTION sharing_log_entries_append_only() RETURNS trigger AS $$ "
            "BEGIN "
            f"IF TG_OP = 'DELETE' AND OLD.seq <= {_ANCHORED} THEN RETURN OLD; END IF; "
            "RAISE EXCEPTION 'sharing_log_entries is append-only'; "
            "END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER sharing_log_entries_no_change BEFORE UPDATE OR DELETE "
            "ON sharing_log_entries FOR EACH ROW EXECUTE FUNCTION sharing_log_entries_append_only()"
        )
        op.execute(
            "CREATE FUNCTION sharing_log_checkpoints_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'sharing_log_checkpoints is append-only'; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER sharing_log_checkpoints_no_change BEFORE UPDATE OR DELETE "
            "ON sharing_log_checkpoints FOR EACH ROW "
            "EXECUTE FUNCTION sharing_log_checkpoints_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER IF EXISTS sharing_log_entries_no_change ON sharing_log_entries")
        op.execute("DROP FUNCTION IF EXISTS sharing_log_entries_append_only()")
        op.execute(
            "DROP TRIGGER IF EXISTS sharing_log_checkpoints_no_change ON sharing_log_checkpoints"
        )
        op.execute("DROP FUNCTION IF EXISTS sharing_log_checkpoints_append_only()")
    op.drop_table("sharing_log_checkpoints")
    op.drop_table("sharing_log_entries")
