# SPDX-License-Identifier: AGPL-3.0-or-later
"""The open-data portal: datasets, resources, tags, topic groups, licences, version
history, download counts and the search index.

Names follow CKAN where a CKAN client sees them (``name`` is the slug, ``notes`` the
Markdown description, ``metadata_modified``...), so the CKAN facade maps fields one to
one. A dataset's ``id`` is what CKAN clients call the package id.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from enum import StrEnum
from itertools import chain
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    delete,
    event,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from dulieuso.agencies.models import Agency
from dulieuso.auth.models import enum_column
from dulieuso.db import Base, UUIDPrimaryKey, utcnow


class DatasetState(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    DELETED = "deleted"


class UrlType(StrEnum):
    UPLOAD = "upload"
    LINK = "link"


class IngestStatus(StrEnum):
    NONE = "none"  # a link, or a file that is not tabular
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    LOST = "lost"  # the server restarted while the job ran; upload again


class PiiStatus(StrEnum):
    NOT_SCANNED = "not_scanned"
    CLEAR = "clear"
    REVIEW = "review"  # weak signals only: shown, not blocking
    PERSONAL_DATA = "personal_data"  # blocks publication until overridden


class License(Base):
    """A licence a dataset can carry (seeded from ``opendata/data/licenses.yaml``)."""

    __tablename__ = "licenses"

    id: Mapped[str] = mapped_column(String(60), primary_key=True)  # CKAN license_id
    title_vi: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(500), default="")
    is_open: Mapped[bool] = mapped_column(default=True)
    attribution_required: Mapped[bool] = mapped_column(default=True)
    #: The terms shown with every dataset under this licence (Decree 47 Art. 18 for ours).
    terms_vi: Mapped[str] = mapped_column(Text, default="")
    terms_en: Mapped[str] = mapped_column(Text, default="")
    is_default: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)


class Dataset(Base):
    """Bộ dữ liệu mở: one published (or draft) dataset of an agency."""

    __tablename__ = "datasets"
    __audited__ = True
    #: Counters and caches change on reads; they need no audit record.
    __audit_ignore__ = frozenset({"download_count", "api_call_count", "quality_score", "quality", "search_text", "search_token"})
    #: Covering indexes for the facets and the visibility check of search hits.
    __table_args__ = (
        Index("ix_datasets_state_private_agency_id", "state", "private", "agency_id"),
        Index("ix_datasets_state_private_license_id", "state", "private", "license_id"),
        # Visibility of a candidate found through the search index, without the wide row.
        Index("ix_datasets_id_state_private", "id", "state", "private"),
        # What changed since a process loaded its search index, without the wide row.
        Index("ix_datasets_id_search_token", "id", "search_token"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300), default="")
    notes: Mapped[str] = mapped_column(Text, default="")  # Markdown source
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)
    source_database_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("databases.id", ondelete="SET NULL"), index=True
    )
    license_id: Mapped[str] = mapped_column(ForeignKey("licenses.id", ondelete="RESTRICT"), index=True)
    attribution: Mapped[str] = mapped_column(Text, default="")  # citation text
    update_frequency: Mapped[str | None] = mapped_column(String(40))
    temporal_from: Mapped[date | None]
    temporal_to: Mapped[date | None]
    spatial: Mapped[str] = mapped_column(String(60), default="")  # admin unit code
    spatial_label: Mapped[str] = mapped_column(String(200), default="")
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    private: Mapped[bool] = mapped_column(default=True)
    state: Mapped[DatasetState] = mapped_column(enum_column(DatasetState, "dataset_state"), default=DatasetState.DRAFT)
    version: Mapped[str] = mapped_column(String(60), default="")
    revision: Mapped[int] = mapped_column(default=1)
    published_at: Mapped[datetime | None]
    metadata_created: Mapped[datetime] = mapped_column(default=utcnow)
    metadata_modified: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    next_update_due: Mapped[date | None] = mapped_column(index=True)
    creator_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    download_count: Mapped[int] = mapped_column(BigInteger, default=0, index=True)
    api_call_count: Mapped[int] = mapped_column(BigInteger, default=0)
    search_text: Mapped[str] = mapped_column(Text, default="")
    #: Rewritten (random) with every change a search can see (``note_search_changes``):
    #: what a process compares when it cannot follow ``DatasetSearchChange``.
    search_token: Mapped[str] = mapped_column(String(32), default=lambda: uuid.uuid4().hex, server_default="")
    quality_score: Mapped[float] = mapped_column(Float, default=0.0)
    quality: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    resources: Mapped[list[Resource]] = relationship(
        back_populates="dataset", cascade="all, delete-orphan", order_by="Resource.position"
    )


class Resource(Base):
    """Tài nguyên: one file (uploaded or linked) of a dataset."""

    __tablename__ = "resources"
    __audited__ = True
    #: Progress of a running ingest is bookkeeping; its outcome is audited.
    __audit_ignore__ = frozenset({"ingest_status", "ingest_progress", "ingest_stage", "ingest_job_id"})

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    url_type: Mapped[UrlType] = mapped_column(enum_column(UrlType, "url_type"))
    url: Mapped[str] = mapped_column(String(1000), default="")  # links only; uploads get a URL from their id
    format: Mapped[str] = mapped_column(String(40), default="", index=True)
    mimetype: Mapped[str] = mapped_column(String(120), default="")
    size: Mapped[int | None] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(80), default="")  # "sha256:<hex>"
    filename: Mapped[str] = mapped_column(String(300), default="")
    storage_path: Mapped[str] = mapped_column(String(500), default="")  # relative to the storage dir
    position: Mapped[int] = mapped_column(default=0)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    last_modified: Mapped[datetime] = mapped_column(default=utcnow)
    datastore_active: Mapped[bool] = mapped_column(default=False)
    datastore_version: Mapped[int | None]
    datastore_rows: Mapped[int | None] = mapped_column(BigInteger)
    ingest_job_id: Mapped[str | None] = mapped_column(String(64))
    ingest_status: Mapped[IngestStatus] = mapped_column(
        enum_column(IngestStatus, "ingest_status"), default=IngestStatus.NONE
    )
    ingest_progress: Mapped[float] = mapped_column(Float, default=0.0)
    ingest_stage: Mapped[str] = mapped_column(String(200), default="")
    ingest_error: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # failed-ingest report
    #: Labels and descriptions per field, edited by the agency: ``{field_id: {label, description}}``.
    dictionary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    pii_status: Mapped[PiiStatus] = mapped_column(enum_column(PiiStatus, "pii_status"), default=PiiStatus.NOT_SCANNED)
    pii_version: Mapped[int | None]  # the datastore version the scan looked at
    pii_report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    pii_override_reason: Mapped[str | None] = mapped_column(Text)
    pii_override_by: Mapped[str | None] = mapped_column(String(254))
    pii_override_at: Mapped[datetime | None]
    pii_override_version: Mapped[int | None]  # an override covers exactly one data version

    dataset: Mapped[Dataset] = relationship(back_populates="resources")


class Tag(UUIDPrimaryKey, Base):
    __tablename__ = "tags"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    folded: Mapped[str] = mapped_column(String(100), index=True)


class DatasetTag(Base):
    """Part of its dataset for auditing (recorded with the dataset's change)."""

    __tablename__ = "dataset_tags"
    __table_args__ = (Index("ix_dataset_tags_tag_id_dataset_id", "tag_id", "dataset_id"),)

    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)


class Group(UUIDPrimaryKey, Base):
    """A topic (chủ đề): a thematic collection of datasets (CKAN "group")."""

    __tablename__ = "topic_groups"
    __audited__ = True

    name: Mapped[str] = mapped_column(String(100), unique=True)
    title_vi: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    image_url: Mapped[str] = mapped_column(String(500), default="")
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DatasetGroup(Base):
    __tablename__ = "dataset_groups"
    __table_args__ = (Index("ix_dataset_groups_group_id_dataset_id", "group_id", "dataset_id"),)

    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("topic_groups.id", ondelete="CASCADE"), primary_key=True)


class DatasetRevision(UUIDPrimaryKey, Base):
    """One entry of a dataset's version history: the whole dataset as it was after a change."""

    __tablename__ = "dataset_revisions"
    __table_args__ = (UniqueConstraint("dataset_id", "number"),)

    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_label: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(40))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)


class DownloadCount(Base):
    """Downloads and API calls of one dataset on one day (Asia/Ho_Chi_Minh)."""

    __tablename__ = "download_counts"

    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True, index=True)
    downloads: Mapped[int] = mapped_column(BigInteger, default=0)
    api_calls: Mapped[int] = mapped_column(BigInteger, default=0)


class DatasetSearchTerm(Base):
    """Inverted index of datasets: one folded word and its weight (title 4, tags 3,
    agency 2, description and field names 1). Lookups are by exact word or prefix on
    ``term`` (a B-tree range scan), the same on SQLite and PostgreSQL."""

    __tablename__ = "dataset_search_terms"
    #: Covering: a word's datasets and weights come from the index alone.
    __table_args__ = (Index("ix_dataset_search_terms_term_dataset_id", "term", "dataset_id", "weight"),)

    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    term: Mapped[str] = mapped_column(String(60), primary_key=True)
    weight: Mapped[int] = mapped_column(SmallInteger, default=1)


class DatasetSearchState(Base):
    """One row: a token that changes with every committed change a search could see.

    Each process answers dataset searches from an in-memory index (``opendata.search_index``)
    and reads this token (one primary-key read) before every search. When it differs from
    the token the index was loaded with, the process follows ``DatasetSearchChange`` back
    from the new token to its own and reloads only the datasets those changes name.
    Tokens are random rather than counters, so that a change that is rolled back can never
    leave a process believing that what it loaded from those uncommitted rows is current
    (a counter would come back to the same value).
    """

    __tablename__ = "dataset_search_state"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(String(32))


class DatasetSearchChange(Base):
    """One committed transaction that changed datasets as a search sees them: the state
    token it wrote, the token it replaced (the changes form one chain, since writers
    take the state row in turn) and the hex ids of the datasets (``*``: too many to list,
    compare every dataset's ``search_token``; empty: only names of agencies, topics or
    licences changed). Kept for a day (``CHANGES_KEPT``)."""

    __tablename__ = "dataset_search_changes"

    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    previous: Mapped[str] = mapped_column(String(32))
    dataset_ids: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


# ----------------------------------------------------------------------- search changes
#
# Two listeners on every session (rather than calls in each service function, so that
# the rule also holds for the CLI, the demo loader and test factories): after each flush,
# the datasets it changed get a new ``search_token`` and are remembered in the session;
# when the transaction commits, one ``DatasetSearchChange`` names them all and the state
# token moves. The state row is taken last, just before the commit, so that writers wait
# for each other only briefly and never while holding it.

SEARCH_STATE_ID = 1
#: ``session.info`` key: hex ids of datasets this session changed and has not yet logged
#: (and ``NAMES_CHANGED`` when an agency, topic or licence changed).
SEARCH_PENDING = "dataset_search_pending"
NAMES_CHANGED = "names"
#: How long change entries are kept; a process whose index is older reads every token.
CHANGES_KEPT = timedelta(days=1)
#: A change listing more datasets than this says ``*`` instead.
CHANGE_IDS_MAX = 2000
#: Dataset columns whose changes no search shows (download counters are read live).
_SEARCH_IGNORED = frozenset({"download_count", "api_call_count", "search_token"})
#: Resource columns a search shows (the format facet and filter); the rest (ingest
#: progress, checksums...) changes often and reaches the search only through ``reindex``,
#: which touches the dataset.
_SEARCH_RESOURCE_COLUMNS = ("format", "dataset_id")


def _column_changes(obj: Any, keys: Any = None) -> set[str]:
    state = inspect(obj)
    names = keys if keys is not None else [attr.key for attr in state.mapper.column_attrs]
    return {name for name in names if state.attrs[name].history.has_changes()}


@event.listens_for(Session, "before_flush")
def _note_deleted_tags(session: Session, _context: Any, _instances: Any) -> None:
    """Deleting a tag removes its links in the database (``ON DELETE CASCADE``), which the
    ORM never sees: remember the datasets that held it. (A deleted topic needs nothing
    more than its change of names: searches show and filter topics by their rows, read
    again after it, and a topic's id is never reused.)"""
    tags = [obj.id for obj in session.deleted if isinstance(obj, Tag)]
    if tags:
        held = session.connection().scalars(select(DatasetTag.dataset_id).where(DatasetTag.tag_id.in_(tags)))
        session.info.setdefault("dataset_search_cascaded", set()).update(held)


_SEARCH_RELEVANT = (Agency, Group, License, Dataset, DatasetTag, DatasetGroup, DatasetSearchTerm, Resource)


def _changed_dataset_ids(session: Session) -> set[Any]:
    ids: set[Any] = set(session.info.pop("dataset_search_cascaded", ()))
    # session.dirty is rebuilt on every access: take it once (a flush of thousands of
    # objects of other domains would otherwise pay for it per object).
    dirty_objects = session.dirty
    for obj in chain(session.new, dirty_objects, session.deleted):
        if not isinstance(obj, _SEARCH_RELEVANT):
            continue
        dirty = obj in dirty_objects
        if isinstance(obj, Agency | Group | License):
            # The names a search shows for agencies, topics and licences: no dataset
            # changes, but the token must move so that processes read the names again.
            if not dirty or _column_changes(obj):
                session.info.setdefault(SEARCH_PENDING, set()).add(NAMES_CHANGED)
        elif isinstance(obj, Dataset):
            if dirty and not (_column_changes(obj) - _SEARCH_IGNORED):
                continue
            ids.add(obj.id)
        elif isinstance(obj, DatasetTag | DatasetGroup | DatasetSearchTerm):
            ids.add(obj.dataset_id)
        elif isinstance(obj, Resource):
            if dirty and not _column_changes(obj, _SEARCH_RESOURCE_COLUMNS):
                continue
            ids.add(obj.dataset_id)
            previous = inspect(obj).attrs["dataset_id"].history.deleted
            ids.update(p for p in previous or () if p is not None)
    ids.discard(None)
    return ids


@event.listens_for(Session, "after_flush")
def note_search_changes(session: Session, _context: Any) -> None:
    """Give every dataset this flush changed (its row, tags, topics, resource formats or
    search words) a new random ``search_token``, and remember it in the session: a search
    in this same transaction then reloads it from what the transaction sees."""
    ids = _changed_dataset_ids(session)
    if not ids:
        return
    token = uuid.uuid4().hex
    connection = session.connection()
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        connection.execute(update(Dataset.__table__).where(Dataset.__table__.c.id.in_(chunk)).values(search_token=token))
    session.info.setdefault(SEARCH_PENDING, set()).update(i.hex for i in ordered)


@event.listens_for(Session, "before_commit")
def log_search_changes(session: Session) -> None:
    """Write one ``DatasetSearchChange`` for what this transaction changed, and move the
    state token, just before the commit (also when a savepoint is released: its changes
    then count for the enclosing transaction)."""
    session.flush()  # changes still pending are part of this commit
    pending: set[str] | None = session.info.pop(SEARCH_PENDING, None)
    if not pending:
        return
    connection = session.connection()
    state = DatasetSearchState.__table__
    # FOR UPDATE (PostgreSQL; SQLite has one writer anyway): a concurrent writer waits
    # here, then reads the token this one wrote, so ``previous`` links one chain.
    previous = connection.execute(select(state.c.token).where(state.c.id == SEARCH_STATE_ID).with_for_update()).scalar()
    token = uuid.uuid4().hex
    if previous is None:
        connection.execute(insert(state).values(id=SEARCH_STATE_ID, token=token))
    else:
        connection.execute(update(state).where(state.c.id == SEARCH_STATE_ID).values(token=token))
    datasets = sorted(pending - {NAMES_CHANGED})
    listed = ",".join(datasets) if len(datasets) <= CHANGE_IDS_MAX else "*"
    changes = DatasetSearchChange.__table__
    now = utcnow()
    connection.execute(insert(changes).values(token=token, previous=previous or "", dataset_ids=listed, created_at=now))
    if token < "04":  # about one commit in 64 clears entries no process needs any more
        connection.execute(delete(changes).where(changes.c.created_at < now - CHANGES_KEPT))


@event.listens_for(Session, "after_transaction_end")
def _forget_search_changes(session: Session, transaction: Any) -> None:
    # The session's own transaction ended without a commit (a rollback, or a close): what
    # it changed never happened. (A savepoint's end changes nothing: its enclosing
    # transaction still holds the changes made before it.)
    if transaction.parent is None and not transaction.nested:
        session.info.pop(SEARCH_PENDING, None)
        session.info.pop("dataset_search_cascaded", None)
