"""Sharing log tables (nhật ký chia sẻ dữ liệu, Decree 47 Art. 45).

``SharingLogEntry`` holds one row per gateway call, allowed or refused. Rows are
append-only (database triggers refuse UPDATE and DELETE, except DELETE of entries
already sealed by a retention anchor) and hash-chained: ``entry_hash`` is SHA-256
over ``prev_hash`` and the canonical serialisation of every field in
``dulieuso.sharing.log.FIELDS``. ``LogCheckpoint`` rows, signed with the log's
Ed25519 key, seal each committed batch, record the canonical format of the entries
they seal, and are themselves chained. See ``docs/exchange-log.md``.

Identifiers of registry records are stored as text, not foreign keys: the log must
outlive the services, accounts and grants it mentions, and its canonical form must be
identical on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dulieuso.db import Base

#: INTEGER PRIMARY KEY on SQLite (the rowid itself), BIGINT elsewhere.
SeqType = BigInteger().with_variant(Integer(), "sqlite")


class SharingLogEntry(Base):
    __tablename__ = "sharing_log_entries"
    __table_args__ = (
        Index("ix_sharing_log_entries_request_at", "request_at"),
        Index("ix_sharing_log_entries_request_id", "request_id"),
        Index("ix_sharing_log_entries_service_code", "service_code"),
        Index("ix_sharing_log_entries_consumer_agency_id", "consumer_agency_id"),
    )

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=False)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))

    request_id: Mapped[str] = mapped_column(String(64))
    request_at: Mapped[datetime]
    response_at: Mapped[datetime]
    latency_us: Mapped[int] = mapped_column(BigInteger)
    consumer_agency_id: Mapped[str | None] = mapped_column(String(36))
    consumer_agency_code: Mapped[str | None] = mapped_column(String(60))
    application_id: Mapped[str | None] = mapped_column(String(36))
    account_id: Mapped[str | None] = mapped_column(String(36))
    client_id: Mapped[str | None] = mapped_column(String(120))
    service_id: Mapped[str | None] = mapped_column(String(36))
    service_code: Mapped[str | None] = mapped_column(String(120))
    service_version: Mapped[str | None] = mapped_column(String(40))
    provider_agency_id: Mapped[str | None] = mapped_column(String(36))
    operation: Mapped[str | None] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(Text)
    query: Mapped[str] = mapped_column(Text)
    status: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(80))
    bytes_in: Mapped[int] = mapped_column(BigInteger)
    bytes_out: Mapped[int] = mapped_column(BigInteger)
    request_sha256: Mapped[str] = mapped_column(String(64))
    response_sha256: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str | None] = mapped_column(Text)
    case_id: Mapped[str | None] = mapped_column(String(200))
    end_user: Mapped[str | None] = mapped_column(String(200))
    agreement_id: Mapped[str | None] = mapped_column(String(36))
    grant_id: Mapped[str | None] = mapped_column(String(36))
    fields_returned: Mapped[str | None] = mapped_column(Text)
    client_ip: Mapped[str | None] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<SharingLogEntry {self.seq} {self.request_id} {self.status}>"


class LogCheckpoint(Base):
    """A signed seal over the log: ``batch`` (one per commit), ``anchor`` (a retention
    purge: entries up to ``last_seq`` were deleted, ``last_hash`` starts the rest of the
    chain) or ``export`` (an archive was written; ``archive_digest`` links the next one).
    """

    __tablename__ = "sharing_log_checkpoints"
    __table_args__ = (Index("ix_sharing_log_checkpoints_last_seq", "last_seq"),)

    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(10))
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))
    archive_digest: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    key_id: Mapped[str] = mapped_column(String(16))
    prev_checkpoint_hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(100))
    checkpoint_hash: Mapped[str] = mapped_column(String(64))
    #: The canonical format of the entries this checkpoint seals (covered by its
    #: signature). The writer always sets it; the server default 1 is what the rows
    #: written before migration 0012 hold.
    format_version: Mapped[int] = mapped_column(Integer, server_default="1")

    def __repr__(self) -> str:
        return f"<LogCheckpoint {self.id} {self.kind} {self.first_seq}-{self.last_seq}>"
