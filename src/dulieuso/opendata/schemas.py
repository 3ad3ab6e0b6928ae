# SPDX-License-Identifier: AGPL-3.0-or-later
"""Request bodies of the open-data JSON API (responses are the dicts of viewmodels)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class DatasetIn(BaseModel):
    """A dataset's metadata. On PATCH only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, max_length=300)
    name: str | None = Field(None, max_length=100, description="The slug; made from the title when empty")
    title_en: str | None = Field(None, max_length=300)
    notes: str | None = Field(None, max_length=100_000, description="Markdown")
    agency: str | None = Field(None, max_length=60, description="Agency code (default: your agency)")
    source_database: str | None = Field(None, max_length=60, description="Catalog database code")
    license_id: str | None = Field(None, max_length=60)
    attribution: str | None = Field(None, max_length=2000)
    update_frequency: str | None = Field(None, max_length=40)
    temporal_from: date | None = None
    temporal_to: date | None = None
    spatial: str | None = Field(None, max_length=60)
    spatial_label: str | None = Field(None, max_length=200)
    contact_name: str | None = Field(None, max_length=200)
    contact_email: str | None = Field(None, max_length=254)
    version: str | None = Field(None, max_length=60)
    tags: list[str] | None = None
    groups: list[str] | None = None

    def data(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class ResourceLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=300)
    description: str | None = Field(None, max_length=20_000)
    url: str | None = Field(None, max_length=1000)
    format: str | None = Field(None, max_length=40)


class OverrideIn(BaseModel):
    reason: str = Field(..., max_length=5000)


class FieldInfoIn(BaseModel):
    label: str = Field("", max_length=300)
    description: str = Field("", max_length=5000)


class DictionaryIn(BaseModel):
    fields: dict[str, FieldInfoIn]


class GroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=100)
    title_vi: str | None = Field(None, max_length=200)
    title_en: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=5000)
    image_url: str | None = Field(None, max_length=500)
    position: int | None = None


class PrivateIn(BaseModel):
    reason: str = Field("", max_length=2000)
