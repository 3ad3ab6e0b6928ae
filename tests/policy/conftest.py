# SPDX-License-Identifier: AGPL-3.0-or-later
"""Fixtures of the policy tests: the shipped policies and calendar, loaded once per test."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from dulieuso.auth.permissions import SYSTEM
from dulieuso.policy import service


@pytest.fixture
def seeded(db: Session) -> Session:
    """``db`` with ``policies.yaml`` and ``holidays.csv`` loaded and committed."""
    service.seed(db, SYSTEM)
    db.commit()
    return db
