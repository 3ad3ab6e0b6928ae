# SPDX-License-Identifier: AGPL-3.0-or-later
"""JSON shapes of the catalog API. Input models turn into ``entries.EntryData``; output
models follow ``entries.entry_dict`` (the same shape as issued snapshots and exports)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dulieuso.catalog.entries import CategoryData, ElementData, EntryData
from dulieuso.catalog.models import (
    DatabaseLevel,
    ElementType,
    EntryStatus,
    Hosting,
    Importance,
    SharingForm,
    SharingScope,
    SystemStatus,
    UpdateFrequency,
    UserType,
)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ElementIn(_In):
    name: str = Field(max_length=300)
    data_type: ElementType = ElementType.TEXT
    description: str = Field("", max_length=4000)
    unit: str | None = Field(None, max_length=60)
    required: bool = False
    code_list: str | None = Field(None, max_length=60, description="Code of a shared code list")
    is_master_data: bool = False
    is_personal_data: bool = False
    dictionary_id: str | None = Field(None, max_length=80, description="Shared Data Dictionary element id")


class CategoryIn(_In):
    name: str = Field(max_length=300)
    description: str = Field("", max_length=4000)
    elements: list[ElementIn] = Field(default_factory=list, max_length=500)
    availability: dict[UserType, SharingForm] = Field(
        default_factory=dict, description="Sharing form per user type; a missing user type is not shared"
    )


class ContactIn(_In):
    name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=40)


class EntryIn(_In):
    """A database entry (Decree 47 Art. 11(4)). On ``PUT`` the code comes from the path."""

    code: str | None = Field(None, max_length=60, description="Upper-case code, e.g. LCU-STC-NGANSACH")
    name: str = Field(max_length=300)
    owner_agency: str = Field(max_length=40, description="Agency code")
    purpose: str = Field("", max_length=8000)
    scope: str = Field("", max_length=8000)
    content: str = Field("", max_length=8000)
    collection_mechanism: str = Field("", max_length=8000)
    update_mechanism: str = Field("", max_length=8000)
    update_frequency: UpdateFrequency | None = None
    data_sources: str = Field("", max_length=8000)
    level: DatabaseLevel | None = None
    legal_basis: str = Field("", max_length=8000)
    hosting: Hosting | None = None
    start_year: int | None = None
    record_count_estimate: int | None = None
    contact: ContactIn | None = None
    sharing_scope: SharingScope = SharingScope.SHARED
    importance: Importance = Importance.OTHER
    decision20_item: str | None = Field(None, max_length=200)
    contains_personal_data: bool = False
    contains_state_secret: bool = False
    is_original_data: bool = False
    systems: list[str] = Field(default_factory=list, max_length=50, description="Information system codes")
    categories: list[CategoryIn] = Field(default_factory=list, max_length=200)

    def to_data(self, code: str | None = None) -> EntryData:
        contact = self.contact or ContactIn()
        return EntryData(
            code=code or self.code or "",
            name=self.name,
            owner_agency=self.owner_agency,
            purpose=self.purpose,
            scope=self.scope,
            content=self.content,
            collection_mechanism=self.collection_mechanism,
            update_mechanism=self.update_mechanism,
            update_frequency=self.update_frequency,
            data_sources=self.data_sources,
            level=self.level,
            legal_basis=self.legal_basis,
            hosting=self.hosting,
            start_year=self.start_year,
            record_count_estimate=self.record_count_estimate,
            contact_name=contact.name,
            contact_email=contact.email,
            contact_phone=contact.phone,
            sharing_scope=self.sharing_scope,
            importance=self.importance,
            decision20_item=self.decision20_item,
            contains_personal_data=self.contains_personal_data,
            contains_state_secret=self.contains_state_secret,
            is_original_data=self.is_original_data,
            systems=list(self.systems),
            categories=[
                CategoryData(
                    name=c.name,
                    description=c.description,
                    availability=dict(c.availability),
                    elements=[ElementData(**e.model_dump()) for e in c.elements],
                )
                for c in self.categories
            ],
        )


class Ref(BaseModel):
    code: str
    name: str


class ElementOut(BaseModel):
    name: str
    data_type: str
    description: str
    unit: str | None
    required: bool
    code_list: str | None
    is_master_data: bool
    is_personal_data: bool
    dictionary_id: str | None


class CategoryOut(BaseModel):
    name: str
    description: str
    availability: dict[str, str] = Field(description="user type → sharing form (the availability matrix row)")
    elements: list[ElementOut]


class ContactOut(BaseModel):
    name: str | None
    email: str | None
    phone: str | None


class EntryOut(BaseModel):
    """One catalog entry with its categories, elements and availability matrix."""

    code: str
    name: str
    owner_agency: Ref
    purpose: str
    scope: str
    content: str
    collection_mechanism: str
    update_mechanism: str
    update_frequency: str | None
    data_sources: str
    level: str | None
    legal_basis: str
    hosting: str | None
    start_year: int | None
    record_count_estimate: int | None
    contact: ContactOut
    sharing_scope: str
    importance: str
    decision20_item: str | None
    contains_personal_data: bool
    contains_state_secret: bool
    is_original_data: bool
    status: str
    revision: int
    systems: list[Ref]
    categories: list[CategoryOut]


class CommentOut(BaseModel):
    field: str | None
    comment: str
    author: str
    created_at: str
    resolved: bool


class EntryDetailOut(EntryOut):
    working: bool = Field(description="True: the working version (staff); false: the published version")
    published_revision: int | None
    comments: list[CommentOut] = Field(default_factory=list)


class NoticeOut(BaseModel):
    field: str
    message: str
    message_en: str


class SaveOut(BaseModel):
    entry: EntryOut
    created: bool
    changed: bool
    notices: list[NoticeOut]


class CommentIn(_In):
    field: str | None = Field(None, max_length=80, description="The field commented on, e.g. purpose")
    comment: str = Field(max_length=4000)


class NoteIn(_In):
    note: str = Field("", max_length=4000)


class HitOut(BaseModel):
    code: str
    name: str
    agency_code: str
    agency_name: str
    level: str | None
    importance: str
    sharing_forms: list[str]
    purpose: str
    score: int


class FacetValue(BaseModel):
    value: str | None
    label: str | None = None
    count: int


class SearchOut(BaseModel):
    """The list envelope plus facets (counts per agency, level, sharing form, importance)."""

    items: list[HitOut]
    total: int
    limit: int
    offset: int
    facets: dict[str, list[FacetValue]]


class IssueIn(_In):
    decision_number: str = Field(max_length=120, description="e.g. 123/QĐ-UBND")
    decision_date: date
    signer: str = Field(max_length=200)
    signer_title: str = Field("", max_length=200)
    note: str = Field("", max_length=4000)


class IssueOut(BaseModel):
    id: int
    uuid: str
    number: int
    decision_number: str
    decision_date: str
    signer: str
    signer_title: str
    note: str
    issued_at: str
    issued_by: str
    entry_count: int


class IssueDetailOut(IssueOut):
    entries: list[dict[str, Any]]


class ChangeOut(BaseModel):
    code: str
    name: str
    agency_code: str
    change: str
    state: str
    fields: list[dict[str, Any]]


class DiffOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: int = Field(alias="from")
    to: int | str
    changes: list[ChangeOut]


class ReissueOut(BaseModel):
    latest_issue: int | None
    needs_reissue: bool
    changes: list[ChangeOut]


class QueueRow(BaseModel):
    code: str
    name: str
    agency_code: str
    agency_name: str
    status: EntryStatus
    revision: int
    published_revision: int | None
    updated_at: str
    submitted_at: str | None
    open_comments: int


class QueueOut(BaseModel):
    waiting_on_it_unit: list[QueueRow]
    waiting_on_agency: list[QueueRow]
    drafts: list[QueueRow]


class ListReviewOut(BaseModel):
    reviewed_on: str
    decision_reference: str
    note: str
    reviewed_by: str


class DerivedListOut(BaseModel):
    kind: str
    items: list[dict[str, Any]]
    total: int
    last_review: ListReviewOut | None
    next_review_due: str | None
    overdue: bool
    policy_key: str


class ListReviewIn(_In):
    reviewed_on: date | None = None
    decision_reference: str = Field("", max_length=200)
    note: str = Field("", max_length=4000)


class CodeListSummary(BaseModel):
    code: str
    name: str
    description: str
    issuer: str
    legal_basis: str
    version: str | None
    item_count: int


class CodeListIn(_In):
    code: str = Field(max_length=60)
    name: str = Field(max_length=300)
    description: str = Field("", max_length=4000)
    issuer: str = Field("", max_length=300)
    legal_basis: str = Field("", max_length=4000)


class SystemIn(_In):
    code: str | None = Field(None, max_length=60)
    name: str = Field(max_length=300)
    owner_agency: str = Field(max_length=40)
    hosting: Hosting
    status: SystemStatus = SystemStatus.OPERATING
    description: str = Field("", max_length=4000)
    operator: str = Field("", max_length=300)
    url: str | None = Field(None, max_length=500)
    security_level: int | None = None
    offers_external_services: bool = False


class SystemOut(BaseModel):
    code: str
    name: str
    description: str
    owner_agency: Ref
    operator: str
    url: str | None
    hosting: str
    security_level: int | None
    status: str
    offers_external_services: bool
    databases: list[Ref] = Field(default_factory=list)


class HistoryOut(BaseModel):
    at: str
    actor: str
    tag: str
    changes: dict[str, Any]
