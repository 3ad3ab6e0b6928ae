"""The plain shape of a catalog entry, shared by the API, the forms, the spreadsheet
import and the issued snapshots (so every path validates and saves the same way).

``EntryData`` goes in (``catalog.service.save_entry``); ``entry_dict(database)`` comes
out and is what an issued ``CatalogIssue.snapshot["entries"]`` holds, what exports read
and what the JSON API returns.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
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


def entry_dict(
    database: Database,
    *,
    agency_code: str,
    agency_name: str,
    code_lists: Mapping[uuid.UUID, str] | None = None,
) -> dict[str, Any]:
    """The JSON-able view of one entry, with categories, elements and matrix.

    ``code_lists`` maps code-list ids to their codes (``catalog.codelists.codes_by_id``),
    so each element names the list it is bound to. The matrix lists every user type, in
    ``UserType`` order; one missing from the table reads "not_shared".
    """
    code_lists = code_lists or {}

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
                "availability": _matrix(category.availability),
                "elements": [
                    {
                        "name": e.name,
                        "data_type": value(e.data_type),
                        "description": e.description,
                        "unit": e.unit,
                        "required": e.required,
                        "code_list": code_lists.get(e.code_list_id) if e.code_list_id else None,
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


def _matrix(cells: Any) -> dict[str, str]:
    given = {UserType(c.user_type): SharingForm(c.sharing_form) for c in cells}
    return {ut.value: given.get(ut, SharingForm.NOT_SHARED).value for ut in UserType}


def entry_data_from_dict(data: Mapping[str, Any]) -> EntryData:
    """The inverse of ``entry_dict``: an ``EntryData`` to save again (re-import, demo files).

    Enum values are checked by the enum constructors (``ValueError`` on a bad one).
    """
    owner = data.get("owner_agency")
    contact = data.get("contact") or {}

    def opt(enum_type: Any, raw: Any) -> Any:
        return enum_type(raw) if raw not in (None, "") else None

    return EntryData(
        code=data["code"],
        name=data["name"],
        owner_agency=owner["code"] if isinstance(owner, Mapping) else str(owner or ""),
        purpose=data.get("purpose") or "",
        scope=data.get("scope") or "",
        content=data.get("content") or "",
        collection_mechanism=data.get("collection_mechanism") or "",
        update_mechanism=data.get("update_mechanism") or "",
        update_frequency=opt(UpdateFrequency, data.get("update_frequency")),
        data_sources=data.get("data_sources") or "",
        level=opt(DatabaseLevel, data.get("level")),
        legal_basis=data.get("legal_basis") or "",
        hosting=opt(Hosting, data.get("hosting")),
        start_year=data.get("start_year"),
        record_count_estimate=data.get("record_count_estimate"),
        contact_name=contact.get("name") or data.get("contact_name"),
        contact_email=contact.get("email") or data.get("contact_email"),
        contact_phone=contact.get("phone") or data.get("contact_phone"),
        sharing_scope=SharingScope(data.get("sharing_scope") or SharingScope.SHARED),
        importance=Importance(data.get("importance") or Importance.OTHER),
        decision20_item=data.get("decision20_item"),
        contains_personal_data=bool(data.get("contains_personal_data")),
        contains_state_secret=bool(data.get("contains_state_secret")),
        is_original_data=bool(data.get("is_original_data")),
        systems=[s["code"] if isinstance(s, Mapping) else str(s) for s in data.get("systems") or []],
        categories=[
            CategoryData(
                name=c["name"],
                description=c.get("description") or "",
                availability={UserType(k): SharingForm(v) for k, v in (c.get("availability") or {}).items()},
                elements=[
                    ElementData(
                        name=e["name"],
                        data_type=ElementType(e.get("data_type") or ElementType.TEXT),
                        description=e.get("description") or "",
                        unit=e.get("unit"),
                        required=bool(e.get("required")),
                        code_list=e.get("code_list"),
                        is_master_data=bool(e.get("is_master_data")),
                        is_personal_data=bool(e.get("is_personal_data")),
                        dictionary_id=e.get("dictionary_id"),
                    )
                    for e in c.get("elements") or []
                ],
            )
            for c in data.get("categories") or []
        ],
    )


#: Fields of an entry that are bookkeeping, not content: left out of diffs.
NOT_CONTENT = frozenset({"status", "revision"})


def flatten(entry: Mapping[str, Any]) -> dict[str, Any]:
    """``{"name": ..., "categories[Hộ tịch].elements[Họ tên].data_type": ...}`` for diffs.

    Categories and elements are keyed by name (not position), so a diff says which
    category changed, and a reordering alone is not a change of content.
    """
    flat: dict[str, Any] = {}
    for key, val in entry.items():
        if key in NOT_CONTENT:
            continue
        if key == "owner_agency" and isinstance(val, Mapping):
            flat["owner_agency"] = val.get("code")
        elif key == "contact" and isinstance(val, Mapping):
            for sub in ("name", "email", "phone"):
                flat[f"contact.{sub}"] = val.get(sub)
        elif key == "systems":
            flat["systems"] = sorted(s["code"] if isinstance(s, Mapping) else s for s in val)
        elif key == "categories":
            for category in val:
                prefix = f"categories[{category['name']}]"
                flat[f"{prefix}.description"] = category.get("description", "")
                for user_type, form in (category.get("availability") or {}).items():
                    flat[f"{prefix}.availability.{user_type}"] = form
                for element in category.get("elements") or []:
                    eprefix = f"{prefix}.elements[{element['name']}]"
                    for ekey, evalue in element.items():
                        if ekey != "name":
                            flat[f"{eprefix}.{ekey}"] = evalue
        else:
            flat[key] = val
    return flat


def field_changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Field-level differences of two entries: ``[{"field", "old", "new"}]``, sorted by field."""
    old, new = flatten(before or {}), flatten(after or {})
    changes = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            changes.append({"field": key, "old": old.get(key), "new": new.get(key)})
    return changes
