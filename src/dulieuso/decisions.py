# SPDX-License-Identifier: AGPL-3.0-or-later
"""Versions issued by decision (bản ban hành theo quyết định): what the catalog
(``catalog/issues.py``, Decree 47 Art. 11(3)) and the open-data list
(``opendata/list_issues.py``, Art. 17(2)) share.

The Chairman of the Provincial People's Committee signs the decision; the platform
administrator records it (number, date, signer) and the platform freezes what it covers
into a numbered, immutable version. This module holds the decision's fields and their
checks, the guard that refuses any change to an issued version, and the lookups by
number or id; each list keeps its own snapshot, permissions and messages.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from dulieuso.auth.permissions import Actor
from dulieuso.db import utcnow
from dulieuso.errors import Invalid
from dulieuso.i18n import Msg

Issued = TypeVar("Issued")


@dataclass
class DecisionInput:
    """The issuing decision as the administrator records it."""

    decision_number: str
    decision_date: date | str | None
    signer: str
    signer_title: str = ""
    note: str = ""


def _too_long(n: int) -> list[Msg]:
    return [Msg("The value is too long (at most {n} characters).", n=n)]


def decision_errors(data: DecisionInput, *, latest_allowed: date | None = None) -> tuple[dict[str, list[Msg]], date | None]:
    """The field errors of ``data`` (empty: valid) and its decision date. With
    ``latest_allowed`` (today, in local time), a decision dated after it is refused."""
    errors: dict[str, list[Msg]] = {}
    when: date | None = None
    number = (data.decision_number or "").strip()
    if not number:
        errors["decision_number"] = [Msg("This field is required.")]
    elif len(number) > 120:
        errors["decision_number"] = _too_long(120)
    signer = (data.signer or "").strip()
    if not signer:
        errors["signer"] = [Msg("This field is required.")]
    elif len(signer) > 200:
        errors["signer"] = _too_long(200)
    if len((data.signer_title or "").strip()) > 200:
        errors["signer_title"] = _too_long(200)
    if len((data.note or "").strip()) > 4000:
        errors["note"] = _too_long(4000)
    if isinstance(data.decision_date, date):
        when = data.decision_date
    elif not data.decision_date:
        errors["decision_date"] = [Msg("This field is required.")]
    else:
        try:
            when = date.fromisoformat(str(data.decision_date).strip())
        except ValueError:
            errors["decision_date"] = [Msg("Enter a date as YYYY-MM-DD.")]
    if when is not None and latest_allowed is not None and when > latest_allowed:
        errors["decision_date"] = [Msg("The date is in the future.")]
    return errors, when


def make_immutable(error: type[Exception], *models: type[Any]) -> None:
    """Refuse every update and delete of rows of ``models`` (raising ``error``)."""

    def refuse(_mapper: Any, _connection: Any, _target: Any) -> None:
        raise error("an issued version is immutable")

    for model in models:
        if model not in _guarded:
            event.listen(model, "before_update", refuse)
            event.listen(model, "before_delete", refuse)
            _guarded.add(model)


_guarded: set[type[Any]] = set()


def find(session: Session, model: type[Issued], ident: int | str) -> Issued | None:
    """The version numbered ``ident`` ("3") or with that UUID; None when there is none."""
    text = str(ident).strip()
    if text.isdigit() and len(text) < 10:
        return session.scalar(select(model).where(model.number == int(text)))  # type: ignore[attr-defined]
    try:
        return session.get(model, uuid.UUID(text))
    except ValueError:
        return None


def latest(session: Session, model: type[Issued]) -> Issued | None:
    """The version with the highest number, or None before the first."""
    return session.scalar(select(model).order_by(model.number.desc()).limit(1))  # type: ignore[attr-defined]


def next_header(
    session: Session, model: type[Any], actor: Actor, data: DecisionInput, when: date, latest: Any | None
) -> dict[str, Any]:
    """The header of the next version of ``model`` (number, decision, issued_at/by), as
    stored in its snapshot and audit record. A decision older than the ``latest``
    version's is refused (422)."""
    if latest is not None and when < latest.decision_date:
        raise Invalid(fields={"decision_date": [Msg("The decision cannot be older than the previous version's.")]})
    return {
        "number": (session.scalar(select(func.max(model.number))) or 0) + 1,
        "decision_number": data.decision_number.strip(),
        "decision_date": when.isoformat(),
        "signer": data.signer.strip(),
        "signer_title": (data.signer_title or "").strip(),
        "note": (data.note or "").strip(),
        "issued_at": utcnow().isoformat(),
        "issued_by": actor.label,
    }


def version_fields(header: dict[str, Any]) -> dict[str, Any]:
    """The columns a version row shares with its header."""
    return {
        "number": header["number"], "decision_number": header["decision_number"],
        "decision_date": date.fromisoformat(header["decision_date"]), "signer": header["signer"],
        "signer_title": header["signer_title"], "note": header["note"],
        "issued_at": datetime.fromisoformat(header["issued_at"]), "issued_by": header["issued_by"],
    }
