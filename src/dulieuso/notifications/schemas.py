# SPDX-License-Identifier: AGPL-3.0-or-later
"""JSON shapes of notifications."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class NotificationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str = Field(
        description="Stable machine name of the event, e.g. sharing:connection_request:submitted."
    )
    title_vi: str
    title_en: str
    body_vi: str
    body_en: str
    link: str | None = Field(description="Path on this platform that the notification is about.")
    created_at: datetime
    read_at: datetime | None
    email_status: str = Field(
        description="pending, sending, sent, failed or none (no e-mail sent)."
    )


class UnreadCount(BaseModel):
    unread: int


class MarkedRead(BaseModel):
    marked: int = Field(description="How many notifications were unread and are now read.")
