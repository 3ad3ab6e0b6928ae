"""The database catalog (danh mục cơ sở dữ liệu): databases, data categories and elements,
availability matrices, information systems, code lists, reviews and issued versions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dulieuso.auth.models import enum_column
from dulieuso.db import Base, IssuedVersion, Timestamps, UUIDPrimaryKey, utcnow


class DatabaseLevel(StrEnum):
    """Art. 11(1): national, ministry, sector, local shared, internal."""

    NATIONAL = "national"
    MINISTRY = "ministry"
    SECTOR = "sector"
    LOCAL_SHARED = "local_shared"
    INTERNAL = "internal"


class SharingScope(StrEnum):
    """Law on Data 2024 Art. 3(2)-(4): dùng chung / dùng riêng / mở."""

    SHARED = "shared"
    PRIVATE = "private"
    OPEN = "open"


class Importance(StrEnum):
    """Law on Data Art. 3(6)-(7) and Decision 20/2025/QĐ-TTg."""

    CORE = "core"
    IMPORTANT = "important"
    OTHER = "other"


class UpdateFrequency(StrEnum):
    REALTIME = "realtime"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"
    ON_CHANGE = "on_change"
    IRREGULAR = "irregular"


class Hosting(StrEnum):
    AGENCY_PREMISES = "agency_premises"
    PROVINCIAL_DATACENTER = "provincial_datacenter"
    NATIONAL_DATACENTER = "national_datacenter"
    MINISTRY_SYSTEM = "ministry_system"
    CLOUD = "cloud"
    PAPER = "paper"


class EntryStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    CHANGES_REQUESTED = "changes_requested"
    ACCEPTED = "accepted"
    WITHDRAWN = "withdrawn"


class UserType(StrEnum):
    """Đối tượng khai thác, sử dụng (Art. 11(4)(d))."""

    PROVINCE_AGENCIES = "province_agencies"
    CENTRAL_AGENCIES = "central_agencies"
    OTHER_PROVINCES = "other_provinces"
    ORGANISATIONS = "organisations"
    INDIVIDUALS = "individuals"


class SharingForm(StrEnum):
    OPEN_DATA = "open_data"
    DEFAULT = "default"
    SPECIAL_REQUEST = "special_request"
    NOT_SHARED = "not_shared"


class ElementType(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"
    CODE = "code"
    GEOMETRY = "geometry"
    FILE = "file"


class SystemStatus(StrEnum):
    PLANNED = "planned"
    BUILDING = "building"
    OPERATING = "operating"
    UPGRADING = "upgrading"
    RETIRED = "retired"


database_systems = Table(
    "database_systems",
    Base.metadata,
    Column("database_id", ForeignKey("databases.id", ondelete="CASCADE"), primary_key=True),
    Column("system_id", ForeignKey("information_systems.id", ondelete="CASCADE"), primary_key=True),
)


class InformationSystem(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "information_systems"
    __audited__ = True

    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)
    operator: Mapped[str] = mapped_column(String(300), default="")
    url: Mapped[str | None] = mapped_column(String(500))
    hosting: Mapped[Hosting] = mapped_column(enum_column(Hosting, "hosting"))
    security_level: Mapped[int | None]
    status: Mapped[SystemStatus] = mapped_column(enum_column(SystemStatus, "system_status"))
    offers_external_services: Mapped[bool] = mapped_column(default=False)
    search_text: Mapped[str] = mapped_column(Text, default="")


class Database(UUIDPrimaryKey, Timestamps, Base):
    """One entry of the catalog: every field of Decree 47 Art. 11(4) and more."""

    __tablename__ = "databases"
    __audited__ = True

    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    purpose: Mapped[str] = mapped_column(Text, default="")
    scope: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[str] = mapped_column(Text, default="")
    collection_mechanism: Mapped[str] = mapped_column(Text, default="")
    update_mechanism: Mapped[str] = mapped_column(Text, default="")
    update_frequency: Mapped[UpdateFrequency | None] = mapped_column(enum_column(UpdateFrequency, "update_frequency"))
    data_sources: Mapped[str] = mapped_column(Text, default="")
    owner_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)
    level: Mapped[DatabaseLevel | None] = mapped_column(enum_column(DatabaseLevel, "database_level"))
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    hosting: Mapped[Hosting | None] = mapped_column(enum_column(Hosting, "hosting"))
    start_year: Mapped[int | None]
    record_count_estimate: Mapped[int | None] = mapped_column(BigInteger)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    sharing_scope: Mapped[SharingScope] = mapped_column(enum_column(SharingScope, "sharing_scope"))
    importance: Mapped[Importance] = mapped_column(enum_column(Importance, "importance"))
    decision20_item: Mapped[str | None] = mapped_column(String(200))
    contains_personal_data: Mapped[bool] = mapped_column(default=False)
    contains_state_secret: Mapped[bool] = mapped_column(default=False)
    is_original_data: Mapped[bool] = mapped_column(default=False)
    status: Mapped[EntryStatus] = mapped_column(enum_column(EntryStatus, "entry_status"), index=True)
    submitted_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    #: Bumped on every change; issued snapshots record the revision they contain.
    revision: Mapped[int] = mapped_column(default=1)
    search_text: Mapped[str] = mapped_column(Text, default="")

    categories: Mapped[list[DataCategory]] = relationship(
        back_populates="database", cascade="all, delete-orphan", order_by="DataCategory.position"
    )
    systems: Mapped[list[InformationSystem]] = relationship(secondary=database_systems)


class DataCategory(UUIDPrimaryKey, Base):
    """Hạng mục dữ liệu (Art. 11(4)(d)); part of its database for auditing."""

    __tablename__ = "data_categories"
    __table_args__ = (UniqueConstraint("database_id", "name"),)

    database_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("databases.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)

    database: Mapped[Database] = relationship(back_populates="categories")
    elements: Mapped[list[DataElement]] = relationship(
        back_populates="category", cascade="all, delete-orphan", order_by="DataElement.position"
    )
    availability: Mapped[list[CategoryAvailability]] = relationship(
        back_populates="category", cascade="all, delete-orphan"
    )


class CategoryAvailability(Base):
    """One cell of the availability matrix: user type × sharing form for a category."""

    __tablename__ = "category_availability"

    category_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("data_categories.id", ondelete="CASCADE"), primary_key=True
    )
    user_type: Mapped[UserType] = mapped_column(enum_column(UserType, "user_type"), primary_key=True)
    sharing_form: Mapped[SharingForm] = mapped_column(enum_column(SharingForm, "sharing_form"), index=True)

    category: Mapped[DataCategory] = relationship(back_populates="availability")


class CodeList(UUIDPrimaryKey, Timestamps, Base):
    """Danh mục dùng chung (Art. 3(7), 9(2))."""

    __tablename__ = "code_lists"
    __audited__ = True

    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    issuer: Mapped[str] = mapped_column(String(300), default="")
    legal_basis: Mapped[str] = mapped_column(Text, default="")

    versions: Mapped[list[CodeListVersion]] = relationship(
        back_populates="code_list", cascade="all, delete-orphan", order_by="CodeListVersion.created_at"
    )


class CodeListVersion(UUIDPrimaryKey, Base):
    __tablename__ = "code_list_versions"
    __table_args__ = (UniqueConstraint("code_list_id", "version"),)

    code_list_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("code_lists.id", ondelete="CASCADE"), index=True)
    version: Mapped[str] = mapped_column(String(40))
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]
    source: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    code_list: Mapped[CodeList] = relationship(back_populates="versions")
    items: Mapped[list[CodeListItem]] = relationship(
        back_populates="version", cascade="all, delete-orphan", order_by="CodeListItem.position"
    )


class CodeListItem(UUIDPrimaryKey, Base):
    __tablename__ = "code_list_items"
    __table_args__ = (UniqueConstraint("version_id", "code", "valid_from"),)

    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("code_list_versions.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(300))
    parent_code: Mapped[str | None] = mapped_column(String(60))
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]
    position: Mapped[int] = mapped_column(default=0)

    version: Mapped[CodeListVersion] = relationship(back_populates="items")


class DataElement(UUIDPrimaryKey, Base):
    """Trường / mục tin of a data category."""

    __tablename__ = "data_elements"

    category_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_categories.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    data_type: Mapped[ElementType] = mapped_column(enum_column(ElementType, "element_type"))
    description: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str | None] = mapped_column(String(60))
    required: Mapped[bool] = mapped_column(default=False)
    code_list_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("code_lists.id", ondelete="RESTRICT"))
    is_master_data: Mapped[bool] = mapped_column(default=False)
    is_personal_data: Mapped[bool] = mapped_column(default=False)
    #: Element id in the national Shared Data Dictionary (Decision 2439/QĐ-TTg), when mapped.
    dictionary_id: Mapped[str | None] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(default=0)
    search_text: Mapped[str] = mapped_column(Text, default="")

    category: Mapped[DataCategory] = relationship(back_populates="elements")


class ReviewComment(UUIDPrimaryKey, Base):
    """A reviewer's comment on one field of a database entry (or on the whole entry)."""

    __tablename__ = "review_comments"

    database_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("databases.id", ondelete="CASCADE"), index=True)
    field: Mapped[str | None] = mapped_column(String(80))
    comment: Mapped[str] = mapped_column(Text)
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_label: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]


class CatalogIssue(IssuedVersion, UUIDPrimaryKey, Base):
    """An issued version of the catalog (bản ban hành): an immutable snapshot."""

    __tablename__ = "catalog_issues"
    __audited__ = True

    entry_count: Mapped[int] = mapped_column(default=0)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)


class ListKind(StrEnum):
    DEFAULT_SHARING = "default_sharing"
    OPEN_DATA = "open_data"


class ListReview(UUIDPrimaryKey, Base):
    """A review of a derived list (Art. 34(2) default-sharing list, the open-data list)."""

    __tablename__ = "list_reviews"
    __audited__ = True

    kind: Mapped[ListKind] = mapped_column(enum_column(ListKind, "list_kind"), index=True)
    reviewed_on: Mapped[date]
    decision_reference: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    reviewed_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PublicEntry(Base):
    """The published (last accepted) version of a database entry: what the public sees.

    Written when the IT unit accepts an entry and removed when the entry is withdrawn,
    deleted or marked state-secret, so an agency revising an accepted entry does not
    hide it from the public catalog meanwhile. Derived data: its changes are recorded
    in the audit record of the database's ``accept``/``withdraw``/``delete``.
    The filter columns repeat values from ``entry`` so search and facets stay in SQL.
    """

    __tablename__ = "catalog_public_entries"

    database_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("databases.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    owner_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)
    agency_code: Mapped[str] = mapped_column(String(40))
    agency_name: Mapped[str] = mapped_column(String(300))
    level: Mapped[DatabaseLevel | None] = mapped_column(enum_column(DatabaseLevel, "database_level"), index=True)
    importance: Mapped[Importance] = mapped_column(enum_column(Importance, "importance"), index=True)
    form_open_data: Mapped[bool] = mapped_column(default=False)
    form_default: Mapped[bool] = mapped_column(default=False)
    form_special_request: Mapped[bool] = mapped_column(default=False)
    form_not_shared: Mapped[bool] = mapped_column(default=False)
    revision: Mapped[int]
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    entry: Mapped[dict[str, Any]] = mapped_column(JSON)


class SearchRow(Base):
    """The narrow row the public search filters, counts and sorts (no JSON in it), read
    into each process's search index (``catalog.search``). Derived from ``PublicEntry`` by
    ``publish`` and ``rebuild_search_index``."""

    __tablename__ = "catalog_search_rows"

    database_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("catalog_public_entries.database_id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    purpose: Mapped[str] = mapped_column(String(400), default="")
    agency_code: Mapped[str] = mapped_column(String(40), index=True)
    agency_name: Mapped[str] = mapped_column(String(300))
    level: Mapped[DatabaseLevel | None] = mapped_column(enum_column(DatabaseLevel, "database_level"))
    importance: Mapped[Importance] = mapped_column(enum_column(Importance, "importance"))
    form_open_data: Mapped[bool] = mapped_column(default=False)
    form_default: Mapped[bool] = mapped_column(default=False)
    form_special_request: Mapped[bool] = mapped_column(default=False)
    form_not_shared: Mapped[bool] = mapped_column(default=False)


class SearchTerm(Base):
    """Inverted index of the public catalog: one folded word of an entry and its weight.

    A word in the code or name weighs 4, in the agency name 3, in a category name 2,
    elsewhere 1. Lookups are exact or by prefix on ``term`` (a range scan of the primary
    key, which starts with ``term``; on SQLite the table is clustered on it, WITHOUT
    ROWID), the same on SQLite and PostgreSQL with no extension.
    """

    __tablename__ = "catalog_search_terms"
    __table_args__ = {"sqlite_with_rowid": False}

    term: Mapped[str] = mapped_column(String(60), primary_key=True)
    database_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("catalog_search_rows.database_id", ondelete="CASCADE"), primary_key=True, index=True
    )
    weight: Mapped[int] = mapped_column(SmallInteger, default=1)


class SearchState(Base):
    """One row: a token that changes whenever the search index changes.

    Each process keeps the public catalog's search index in memory (``catalog.search``)
    and reloads it when the token it reads differs from the one it loaded with. The
    token is written in the same transaction as the index change, and is random rather
    than a counter, so a rolled-back change can never leave a process believing that
    an index it loaded from uncommitted rows is current.
    """

    __tablename__ = "catalog_search_state"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(String(32))
