# SPDX-License-Identifier: AGPL-3.0-or-later
"""Audit tags of the catalog (documented in docs/catalog.md)."""

from __future__ import annotations

from enum import StrEnum

from dulieuso.audit.service import register_tags


class CatalogEvent(StrEnum):
    DATABASE_CREATE = "catalog:database:create"
    DATABASE_UPDATE = "catalog:database:update"
    DATABASE_SUBMIT = "catalog:database:submit"
    DATABASE_COMMENT = "catalog:database:comment"
    DATABASE_REQUEST_CHANGES = "catalog:database:request_changes"
    DATABASE_ACCEPT = "catalog:database:accept"
    DATABASE_WITHDRAW = "catalog:database:withdraw"
    DATABASE_DELETE = "catalog:database:delete"
    SYSTEM_CREATE = "catalog:system:create"
    SYSTEM_UPDATE = "catalog:system:update"
    SYSTEM_DELETE = "catalog:system:delete"
    CODE_LIST_CREATE = "catalog:code_list:create"
    CODE_LIST_UPDATE = "catalog:code_list:update"
    CODE_LIST_IMPORT = "catalog:code_list:import"
    ISSUE = "catalog:issue:issue"
    LIST_REVIEW = "catalog:list_review:create"


register_tags(CatalogEvent)
