# SPDX-License-Identifier: AGPL-3.0-or-later
"""Display labels of the catalog's enums (translated where shown)."""

from __future__ import annotations

from enum import StrEnum

from dulieuso.catalog.models import (
    DatabaseLevel,
    ElementType,
    EntryStatus,
    Hosting,
    Importance,
    ListKind,
    SharingForm,
    SharingScope,
    SystemStatus,
    UpdateFrequency,
    UserType,
)
from dulieuso.i18n import N_, gettext

LEVEL_LABELS: dict[DatabaseLevel, str] = {
    DatabaseLevel.NATIONAL: N_("National database"),
    DatabaseLevel.MINISTRY: N_("Ministry database"),
    DatabaseLevel.SECTOR: N_("Sector database"),
    DatabaseLevel.LOCAL_SHARED: N_("Local shared database"),
    DatabaseLevel.INTERNAL: N_("Internal database of one system"),
}
SCOPE_LABELS: dict[SharingScope, str] = {
    SharingScope.SHARED: N_("Shared data"),
    SharingScope.PRIVATE: N_("Private data"),
    SharingScope.OPEN: N_("Open data"),
}
IMPORTANCE_LABELS: dict[Importance, str] = {
    Importance.CORE: N_("Core data"),
    Importance.IMPORTANT: N_("Important data"),
    Importance.OTHER: N_("Other data"),
}
FREQUENCY_LABELS: dict[UpdateFrequency, str] = {
    UpdateFrequency.REALTIME: N_("Real time"),
    UpdateFrequency.DAILY: N_("Daily"),
    UpdateFrequency.WEEKLY: N_("Weekly"),
    UpdateFrequency.MONTHLY: N_("Monthly"),
    UpdateFrequency.QUARTERLY: N_("Quarterly"),
    UpdateFrequency.YEARLY: N_("Yearly"),
    UpdateFrequency.ON_CHANGE: N_("When the data changes"),
    UpdateFrequency.IRREGULAR: N_("Irregular"),
}
HOSTING_LABELS: dict[Hosting, str] = {
    Hosting.AGENCY_PREMISES: N_("Agency premises"),
    Hosting.PROVINCIAL_DATACENTER: N_("Provincial data centre"),
    Hosting.NATIONAL_DATACENTER: N_("National data centre"),
    Hosting.MINISTRY_SYSTEM: N_("Ministry system"),
    Hosting.CLOUD: N_("Cloud"),
    Hosting.PAPER: N_("Paper records"),
}
STATUS_LABELS: dict[EntryStatus, str] = {
    EntryStatus.DRAFT: N_("Draft"),
    EntryStatus.SUBMITTED: N_("Submitted for review"),
    EntryStatus.CHANGES_REQUESTED: N_("Changes requested"),
    EntryStatus.ACCEPTED: N_("Accepted"),
    EntryStatus.WITHDRAWN: N_("Withdrawn"),
}
USER_TYPE_LABELS: dict[UserType, str] = {
    UserType.PROVINCE_AGENCIES: N_("Agencies in the province"),
    UserType.CENTRAL_AGENCIES: N_("Ministries and central agencies"),
    UserType.OTHER_PROVINCES: N_("Other provinces"),
    UserType.ORGANISATIONS: N_("Organisations"),
    UserType.INDIVIDUALS: N_("Individuals"),
}
FORM_LABELS: dict[SharingForm, str] = {
    SharingForm.OPEN_DATA: N_("Open data"),
    SharingForm.DEFAULT: N_("Default sharing"),
    SharingForm.SPECIAL_REQUEST: N_("Special-request sharing"),
    SharingForm.NOT_SHARED: N_("Not shared"),
}
ELEMENT_TYPE_LABELS: dict[ElementType, str] = {
    ElementType.TEXT: N_("Text"),
    ElementType.INTEGER: N_("Whole number"),
    ElementType.DECIMAL: N_("Decimal number"),
    ElementType.DATE: N_("Date"),
    ElementType.DATETIME: N_("Date and time"),
    ElementType.BOOLEAN: N_("Yes/no"),
    ElementType.CODE: N_("Code from a code list"),
    ElementType.GEOMETRY: N_("Geometry (map)"),
    ElementType.FILE: N_("File"),
}
SYSTEM_STATUS_LABELS: dict[SystemStatus, str] = {
    SystemStatus.PLANNED: N_("Planned"),
    SystemStatus.BUILDING: N_("Being built"),
    SystemStatus.OPERATING: N_("Operating"),
    SystemStatus.UPGRADING: N_("Being upgraded"),
    SystemStatus.RETIRED: N_("Retired"),
}
LIST_LABELS: dict[ListKind, str] = {
    ListKind.DEFAULT_SHARING: N_("Default-sharing data list"),
    ListKind.OPEN_DATA: N_("Open-data list"),
}

#: Short matrix codes used in the demo files and compact displays.
FORM_CODES: dict[str, SharingForm] = {
    "O": SharingForm.OPEN_DATA,
    "D": SharingForm.DEFAULT,
    "S": SharingForm.SPECIAL_REQUEST,
    "N": SharingForm.NOT_SHARED,
}

_ALL: dict[type[StrEnum], dict] = {  # type: ignore[type-arg]
    DatabaseLevel: LEVEL_LABELS,
    SharingScope: SCOPE_LABELS,
    Importance: IMPORTANCE_LABELS,
    UpdateFrequency: FREQUENCY_LABELS,
    Hosting: HOSTING_LABELS,
    EntryStatus: STATUS_LABELS,
    UserType: USER_TYPE_LABELS,
    SharingForm: FORM_LABELS,
    ElementType: ELEMENT_TYPE_LABELS,
    SystemStatus: SYSTEM_STATUS_LABELS,
    ListKind: LIST_LABELS,
}


def label(enum_type: type[StrEnum], value: str | None, lang: str) -> str:
    """The translated label of ``value`` of ``enum_type`` ("" for None, the raw value if unknown)."""
    if value is None or value == "":
        return ""
    try:
        member = enum_type(value)
    except ValueError:
        return str(value)
    return gettext(_ALL[enum_type][member], lang)


def choices(enum_type: type[StrEnum], lang: str) -> list[tuple[str, str]]:
    """``(value, label)`` pairs for a select box."""
    return [(member.value, gettext(text, lang)) for member, text in _ALL[enum_type].items()]
