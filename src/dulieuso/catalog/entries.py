"""The plain shape of a catalog entry, shared by the API, the forms, the spreadsheet
import and the issued snapshots (so every path validates and saves the same way).

``EntryData`` goes in (``catalog.service.save_entry``); ``entry_dict(database)`` comes
out and is what an issued ``CatalogIssue.snapshot["entries"]`` holds, what exports read
and what the JSON API returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dulieuso.catalog.models import (
    Database,
    DatabaseLevel,
    ElementType,
    Hosting,
    Importance,
    SharingForm,
    SharingScope,
    UpdateFrequency,
    UserType,
)


@dataclass
class ElementData:
    name: str
    data_type: ElementType
    description: str = ""
    unit: str | None = None
    required: bool = False
    code_list: str | None = None  # CodeList.code
    is_master_data: bool = False
    is_personal_data: bool = False
    dictionary_id: str | None = None


@dataclass
class CategoryData:
    name: str
    description: str = ""
    elements: list[ElementData] = field(default_factory=list)
    #: One sharing form per user type; a missing user type means "not shared".
    availability: dict[UserType, SharingForm] = field(default_factory=dict)


@dataclass
class EntryData:
    code: str
    name: str
    owner_agency: str  # Agency.code
    purpose: str = ""
    scope: str = ""
    content: str = ""
    collection_mechanism: str = ""
    update_mechanism: str = ""
    update_frequency: UpdateFrequency | None = None
    data_sources: str = ""
    level: DatabaseLevel | None = None
    legal_basis: str = ""
    hosting: Hosting | None = None
    start_year: int | None = None
    record_count_estimate: int | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    sharing_scope: SharingScope = SharingScope.SHARED
    importance: Importance = Importance.OTHER
    decision20_item: str | None = None
    contains_personal_data: bool = False
    contains_state_secret: bool = False
    is_original_data: bool = False
    systems: list[str] = field(default_factory=list)  # InformationSystem.code
    categories: list[CategoryData] = field(default_factory=list)


#: Fields of Art. 11(4)(a)–(c) that must be filled before an entry is submitted or issued.
REQUIRED_AT_SUBMISSION = (
    "name",
    "purpose",
    "scope",
    "content",
    "collection_mechanism",
    "update_mechanism",
    "update_frequency",
    "data_sources",
    "level",
)


def entry_dict(database: Database, *, agency_code: str, agency_name: str) -> dict[str, Any]:
    """The JSON-able view of one entry, with categories, elements and matrix."""
    def value(v: Any) -> Any:
        return getattr(v, "value", v)

    return {
        "code": database.code,
        "name": database.name,
        "owner_agency": {"code": agency_code, "name": agency_name},
        "purpose": database.purpose,
        "scope": database.scope,
        "content": database.content,
        "collection_mechanism": database.collection_mechanism,
        "update_mechanism": database.update_mechanism,
        "update_frequency": value(database.update_frequency),
        "data_sources": database.data_sources,
        "level": value(database.level),
        "legal_basis": database.legal_basis,
        "hosting": value(database.hosting),
        "start_year": database.start_year,
        "record_count_estimate": database.record_count_estimate,
        "contact": {
            "name": database.contact_name,
            "email": database.contact_email,
            "phone": database.contact_phone,
        },
        "sharing_scope": value(database.sharing_scope),
        "importance": value(database.importance),
        "decision20_item": database.decision20_item,
        "contains_personal_data": database.contains_personal_data,
        "contains_state_secret": database.contains_state_secret,
        "is_original_data": database.is_original_data,
        "status": value(database.status),
        "revision": database.revision,
        "systems": [{"code": s.code, "name": s.name} for s in database.systems],
        "categories": [
            {
                "name": category.name,
                "description": category.description,
                "availability": {value(a.user_type): value(a.sharing_form) for a in category.availability},
                "elements": [
                    {
                        "name": e.name,
                        "data_type": value(e.data_type),
                        "description": e.description,
                        "unit": e.unit,
                        "required": e.required,
                        "code_list": None,  # filled by the service (code of the bound list)
                        "is_master_data": e.is_master_data,
                        "is_personal_data": e.is_personal_data,
                        "dictionary_id": e.dictionary_id,
                    }
                    for e in category.elements
                ],
            }
            for category in database.categories
        ],
    }
