# SPDX-License-Identifier: AGPL-3.0-or-later
"""Audit tags of the open-data portal (documented in docs/opendata.md)."""

from __future__ import annotations

from enum import StrEnum

from dulieuso.audit.service import register_tags


class OpenDataEvent(StrEnum):
    DATASET_CREATE = "opendata:dataset:create"
    DATASET_UPDATE = "opendata:dataset:update"
    DATASET_DELETE = "opendata:dataset:delete"
    DATASET_PUBLISH = "opendata:dataset:publish"
    DATASET_MAKE_PRIVATE = "opendata:dataset:make_private"
    RESOURCE_CREATE = "opendata:resource:create"
    RESOURCE_UPDATE = "opendata:resource:update"
    RESOURCE_DELETE = "opendata:resource:delete"
    RESOURCE_INGEST = "opendata:resource:ingest"
    RESOURCE_DICTIONARY = "opendata:resource:dictionary"
    PII_OVERRIDE = "opendata:resource:pii_override"
    GROUP_CREATE = "opendata:group:create"
    GROUP_UPDATE = "opendata:group:update"
    GROUP_DELETE = "opendata:group:delete"


register_tags(OpenDataEvent)
