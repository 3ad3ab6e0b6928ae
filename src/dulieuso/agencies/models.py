"""Agencies (cơ quan, đơn vị) as a tree with history, and their focal points (đầu mối)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dulieuso.auth.models import enum_column
from dulieuso.db import Base, Timestamps, UUIDPrimaryKey, utcnow


class AgencyType(StrEnum):
    PROVINCIAL_COMMITTEE = "ubnd_tinh"
    DEPARTMENT = "co_quan_chuyen_mon"
    PUBLIC_UNIT = "don_vi_su_nghiep"
    DISTRICT_COMMITTEE = "ubnd_huyen"
    COMMUNE_COMMITTEE = "ubnd_xa"
    PRESS = "co_quan_bao_chi"
    MINISTRY = "bo_nganh_trung_uong"
    OTHER_PROVINCE = "tinh_khac"


EXTERNAL_TYPES = frozenset({AgencyType.MINISTRY, AgencyType.OTHER_PROVINCE})


class Agency(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "agencies"
    __audited__ = True

    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_vi: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str | None] = mapped_column(String(300))
    short_name: Mapped[str | None] = mapped_column(String(120))
    type: Mapped[AgencyType] = mapped_column(enum_column(AgencyType, "agency_type"))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agencies.id", ondelete="RESTRICT"), index=True
    )
    address: Mapped[str | None] = mapped_column(String(400))
    website: Mapped[str | None] = mapped_column(String(400))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    is_it_unit: Mapped[bool] = mapped_column(default=False)
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]
    successor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agencies.id", ondelete="RESTRICT")
    )
    history_note: Mapped[str | None] = mapped_column(Text)
    #: Lower-case, diacritic-free copy of code, names and short name for search.
    search_text: Mapped[str] = mapped_column(Text, default="")

    parent: Mapped[Agency | None] = relationship(
        remote_side="Agency.id", foreign_keys=[parent_id]
    )
    successor: Mapped[Agency | None] = relationship(
        remote_side="Agency.id", foreign_keys=[successor_id]
    )


class FocalPoint(UUIDPrimaryKey, Base):
    """The officer an agency designates for connection and sharing (Decree 47 Art. 7(1))."""

    __tablename__ = "focal_points"
    __audited__ = True
    __table_args__ = (
        # Exactly one active focal point per agency.
        Index(
            "uq_focal_points_active_agency",
            "agency_id",
            unique=True,
            sqlite_where=text("valid_to IS NULL"),
            postgresql_where=text("valid_to IS NULL"),
        ),
    )

    agency_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), index=True
    )
    full_name: Mapped[str] = mapped_column(String(200))
    position: Mapped[str] = mapped_column(String(200))
    function: Mapped[str] = mapped_column(String(400))
    phone: Mapped[str] = mapped_column(String(40))
    email: Mapped[str] = mapped_column(String(254))
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
