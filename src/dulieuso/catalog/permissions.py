# SPDX-License-Identifier: AGPL-3.0-or-later
"""Who may do what in the catalog.

The provincial IT unit (đơn vị chuyên trách CNTT, Decree 47 Art. 11(3)) reviews entries;
on this platform that is the platform administrator. Agencies draft, edit and submit
their own entries. Only the platform administrator records an issued version (the
decision itself is signed by the Chairman of the Provincial People's Committee).
"""

from __future__ import annotations

from enum import StrEnum

from dulieuso.auth.models import Role
from dulieuso.auth.permissions import EVERYONE, STAFF, register

ADMIN = frozenset({Role.PLATFORM_ADMIN})
AUTHORS = frozenset({Role.AGENCY_ADMIN, Role.AGENCY_EDITOR})
NOBODY: frozenset[Role] = frozenset()


class CatalogAction(StrEnum):
    VIEW = "catalog.view"
    VIEW_DRAFTS = "catalog.view_drafts"
    EDIT = "catalog.edit"
    SUBMIT = "catalog.submit"
    REVIEW = "catalog.review"
    ISSUE = "catalog.issue"
    CODE_LIST_MANAGE = "catalog.code_list_manage"
    SYSTEM_MANAGE = "catalog.system_manage"
    LIST_REVIEW = "catalog.list_review"


register(
    {
        CatalogAction.VIEW: (EVERYONE, NOBODY),
        CatalogAction.VIEW_DRAFTS: (ADMIN, STAFF),
        CatalogAction.EDIT: (ADMIN, AUTHORS),
        CatalogAction.SUBMIT: (ADMIN, AUTHORS),
        CatalogAction.REVIEW: (ADMIN, NOBODY),
        CatalogAction.ISSUE: (ADMIN, NOBODY),
        CatalogAction.CODE_LIST_MANAGE: (ADMIN, NOBODY),
        CatalogAction.SYSTEM_MANAGE: (ADMIN, AUTHORS),
        CatalogAction.LIST_REVIEW: (ADMIN, NOBODY),
    }
)
