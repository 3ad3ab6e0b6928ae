"""Shapes of audit events in the JSON API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    at: datetime
    actor_id: uuid.UUID | None
    actor_label: str
    acting_for_agency_id: uuid.UUID | None
    tag: str
    action: str
    subject_type: str
    subject_id: str
    subject_label: str
    changes: dict[str, Any]
    request_id: str | None
