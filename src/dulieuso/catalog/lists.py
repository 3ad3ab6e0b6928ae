# SPDX-License-Identifier: AGPL-3.0-or-later
"""Lists derived from the availability matrix of the public catalog.

* the default-sharing list (danh mục dữ liệu chia sẻ mặc định, Decree 47 Art. 34):
  every category whose matrix says ``default`` for at least one user type;
* the open-data list: every category whose matrix says ``open_data``.

Each list is reviewed periodically (policy keys ``default_sharing_list_review`` and
``open_data_list_review``, 6 months); a review is recorded as a ``ListReview`` and the
next one falls due from it (``dulieuso.policy.service.deadline``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dulieuso.audit.service import record, snapshot
from dulieuso.auth.permissions import Actor, require
from dulieuso.catalog.events import CatalogEvent
from dulieuso.catalog.models import ListKind, ListReview, PublicEntry, SharingForm
from dulieuso.catalog.permissions import CatalogAction
from dulieuso.errors import Invalid, NotFound
from dulieuso.i18n import Msg

POLICY_KEYS = {
    ListKind.DEFAULT_SHARING: "default_sharing_list_review",
    ListKind.OPEN_DATA: "open_data_list_review",
}
FORMS = {ListKind.DEFAULT_SHARING: SharingForm.DEFAULT, ListKind.OPEN_DATA: SharingForm.OPEN_DATA}
#: Used only when the policy table has no row for the key (a fresh database before seeding).
FALLBACK_MONTHS = 6


@dataclass
class DerivedList:
    kind: ListKind
    items: list[dict[str, Any]]
    last_review: ListReview | None
    next_review_due: date | None
    overdue: bool
    policy_key: str

    def as_dict(self) -> dict[str, Any]:
        review = self.last_review
        return {
            "kind": self.kind.value,
            "items": self.items,
            "total": len(self.items),
            "last_review": None
            if review is None
            else {
                "reviewed_on": review.reviewed_on.isoformat(),
                "decision_reference": review.decision_reference,
                "note": review.note,
                "reviewed_by": review.reviewed_by,
            },
            "next_review_due": self.next_review_due.isoformat() if self.next_review_due else None,
            "overdue": self.overdue,
            "policy_key": self.policy_key,
        }


def _next_due(session: Session, kind: ListKind, start: date) -> date:
    from dulieuso.policy import service as policy

    try:
        due = policy.deadline(session, POLICY_KEYS[kind], start)
    except NotFound:
        due = policy.add_months(start, FALLBACK_MONTHS)
    return due.date() if hasattr(due, "date") and callable(due.date) else due  # type: ignore[return-value]


def _today() -> date:
    from dulieuso.policy import service as policy

    return policy.today()


def derived_list(session: Session, actor: Actor, kind: ListKind | str) -> DerivedList:
    """The list of ``kind`` now, with its last review and the next review due (public)."""
    require(actor, CatalogAction.VIEW)
    kind = ListKind(kind)
    form = FORMS[kind].value
    items: list[dict[str, Any]] = []
    for row in session.scalars(select(PublicEntry).order_by(PublicEntry.agency_code, PublicEntry.code)):
        entry = row.entry
        for category in entry.get("categories") or []:
            matrix = category.get("availability") or {}
            user_types = [ut for ut, f in matrix.items() if f == form]
            if user_types:
                items.append(
                    {
                        "database_code": entry["code"],
                        "database_name": entry["name"],
                        "agency_code": entry["owner_agency"]["code"],
                        "agency_name": entry["owner_agency"]["name"],
                        "category": category["name"],
                        "description": category.get("description", ""),
                        "user_types": user_types,
                        "elements": [e["name"] for e in category.get("elements") or []],
                    }
                )
    review = session.scalar(
        select(ListReview).where(ListReview.kind == kind).order_by(ListReview.reviewed_on.desc(), ListReview.created_at.desc()).limit(1)
    )
    due = _next_due(session, kind, review.reviewed_on) if review else None
    return DerivedList(
        kind=kind, items=items, last_review=review, next_review_due=due,
        overdue=due is not None and due < _today(), policy_key=POLICY_KEYS[kind],
    )


def review_list(
    session: Session, actor: Actor, kind: ListKind | str, reviewed_on: date | str | None = None,
    decision_reference: str = "", note: str = "",
) -> ListReview:
    """Record that the list was reviewed (on ``reviewed_on``, default today)."""
    require(actor, CatalogAction.LIST_REVIEW)
    kind = ListKind(kind)
    if reviewed_on in (None, ""):
        when = _today()
    elif isinstance(reviewed_on, date):
        when = reviewed_on
    else:
        try:
            when = date.fromisoformat(str(reviewed_on))
        except ValueError:
            raise Invalid(fields={"reviewed_on": [Msg("Enter a date as YYYY-MM-DD.")]}) from None
    if when > _today():
        raise Invalid(fields={"reviewed_on": [Msg("The review date cannot be in the future.")]})
    if len(decision_reference or "") > 200:
        raise Invalid(fields={"decision_reference": [Msg("The value is too long (at most {n} characters).", n=200)]})
    review = ListReview(
        kind=kind, reviewed_on=when, decision_reference=(decision_reference or "").strip(),
        note=(note or "").strip(), reviewed_by=actor.label,
    )
    session.add(review)
    session.flush()
    record(session, actor, CatalogEvent.LIST_REVIEW, review, after=snapshot(review), label=kind.value)
    return review
