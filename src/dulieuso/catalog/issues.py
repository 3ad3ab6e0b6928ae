# SPDX-License-Identifier: AGPL-3.0-or-later
"""Issued versions of the catalog (Decree 47 Art. 11(3), Art. 55(2)).

The Chairman of the Provincial People's Committee issues the catalog by decision; the
platform administrator records the decision (number, date, signer) here and the
platform freezes the accepted entries into an immutable ``CatalogIssue.snapshot``::

    {"entries": [entry_dict, ...], "issued": {"number", "decision_number", ...}}

Entries are the published (last accepted) versions, state secrets excluded, sorted by
agency code then entry code. Once issued, a snapshot never changes (an ORM guard
refuses updates and deletes). "Needs re-issue" compares the latest issue with the
catalog now; ``diff_issues`` compares two issues, field by field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from dulieuso import decisions
from dulieuso.audit.service import record
from dulieuso.auth.permissions import Actor, require
from dulieuso.catalog.entries import field_changes
from dulieuso.catalog.events import CatalogEvent
from dulieuso.catalog.models import CatalogIssue, Database, EntryStatus, PublicEntry
from dulieuso.catalog.permissions import CatalogAction
from dulieuso.errors import Conflict, Invalid, NotFound
from dulieuso.i18n import Msg


class IssueImmutable(RuntimeError):
    """An issued catalog version was about to be changed or deleted."""


decisions.make_immutable(IssueImmutable, CatalogIssue)

#: The issuing decision (number, date, signer) as the administrator records it.
IssueInput = decisions.DecisionInput


def list_issues(session: Session, actor: Actor) -> list[CatalogIssue]:
    """Every issued version, newest first (public)."""
    require(actor, CatalogAction.VIEW)
    return list(session.scalars(select(CatalogIssue).order_by(CatalogIssue.number.desc())))


def get_issue(session: Session, actor: Actor, ident: int | str) -> CatalogIssue:
    """Issued version ``ident``: its number (``3``) or its UUID (public)."""
    require(actor, CatalogAction.VIEW)
    issue = decisions.find(session, CatalogIssue, ident)
    if issue is None:
        raise NotFound(Msg("Catalog version {n} not found.", n=str(ident).strip()[:40]), code="issue_not_found")
    return issue


def latest_issue(session: Session) -> CatalogIssue | None:
    return decisions.latest(session, CatalogIssue)


def issue_summary(issue: CatalogIssue) -> dict[str, Any]:
    """The issue's header without its entries (lists, API)."""
    return {
        "id": issue.number,
        "uuid": str(issue.id),
        "number": issue.number,
        "decision_number": issue.decision_number,
        "decision_date": issue.decision_date.isoformat(),
        "signer": issue.signer,
        "signer_title": issue.signer_title,
        "note": issue.note,
        "issued_at": issue.issued_at.isoformat(),
        "issued_by": issue.issued_by,
        "entry_count": issue.entry_count,
    }


def current_entries(session: Session) -> list[dict[str, Any]]:
    """The published entries now, in issue order (what the next issue would contain)."""
    rows = session.scalars(select(PublicEntry).order_by(PublicEntry.agency_code, PublicEntry.code))
    return [dict(row.entry) for row in rows]


# -- diffs ---------------------------------------------------------------------------------


@dataclass
class EntryChange:
    code: str
    name: str
    agency_code: str
    change: Literal["added", "removed", "changed"]
    fields: list[dict[str, Any]] = field(default_factory=list)
    #: "accepted" for content accepted by the IT unit; "pending" for edits not yet accepted.
    state: str = "accepted"

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code, "name": self.name, "agency_code": self.agency_code, "change": self.change,
            "state": self.state, "fields": self.fields,
        }


def diff_entries(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[EntryChange]:
    """Added, removed and changed entries between two lists of ``entry_dict``."""
    before = {e["code"]: e for e in old}
    after = {e["code"]: e for e in new}
    changes: list[EntryChange] = []
    for code in sorted(set(before) | set(after)):
        a, b = before.get(code), after.get(code)
        ref = b or a
        assert ref is not None
        agency = (ref.get("owner_agency") or {}).get("code", "")
        if a is None:
            changes.append(EntryChange(code, ref["name"], agency, "added", field_changes(None, b)))
        elif b is None:
            changes.append(EntryChange(code, ref["name"], agency, "removed", field_changes(a, None)))
        else:
            fields = field_changes(a, b)
            if fields:
                changes.append(EntryChange(code, ref["name"], agency, "changed", fields))
    return changes


def diff_issues(a: CatalogIssue, b: CatalogIssue) -> list[EntryChange]:
    """What changed from issue ``a`` to issue ``b``, entry by entry and field by field."""
    return diff_entries(list(a.snapshot.get("entries", [])), list(b.snapshot.get("entries", [])))


def diff(session: Session, actor: Actor, from_number: int | None, to_number: int | None) -> dict[str, Any]:
    """``GET /api/v1/catalog/diff``: issue to issue; a missing ``to`` means the catalog now
    (published entries); a missing ``from`` means the latest issue."""
    require(actor, CatalogAction.VIEW)
    if from_number is None:
        latest = latest_issue(session)
        if latest is None:
            raise NotFound(Msg("No catalog version has been issued yet."), code="no_issue")
        from_number = latest.number
    old = get_issue(session, actor, from_number)
    if to_number is None:
        new_entries = current_entries(session)
        to_label: int | str = "current"
    else:
        new_entries = list(get_issue(session, actor, to_number).snapshot.get("entries", []))
        to_label = to_number
    changes = diff_entries(list(old.snapshot.get("entries", [])), new_entries)
    return {"from": from_number, "to": to_label, "changes": [c.as_dict() for c in changes]}


def reissue_changes(session: Session) -> list[EntryChange]:
    """Why the catalog needs re-issuing (Decree 47 Art. 55(2)); empty when it does not.

    Accepted changes: entries published since the latest issue, entries whose accepted
    revision differs from the issued one, entries no longer published. Pending changes
    (``state="pending"``): an issued entry being edited (its working revision moved on)
    even before the IT unit accepts the edit. With no issue yet, every published entry
    is "added".
    """
    latest = latest_issue(session)
    issued = list(latest.snapshot.get("entries", [])) if latest else []
    changes = diff_entries(issued, current_entries(session))
    listed = {c.code for c in changes}
    issued_rev = {e["code"]: e.get("revision") for e in issued}
    if issued_rev:
        working = session.execute(
            select(Database.code, Database.name, Database.revision, Database.status).where(
                Database.code.in_(list(issued_rev))
            )
        ).all()
        for code, name, revision, status in working:
            if code not in listed and revision != issued_rev[code] and status is not EntryStatus.ACCEPTED:
                issued_entry = next(e for e in issued if e["code"] == code)
                changes.append(
                    EntryChange(
                        code, name, issued_entry["owner_agency"]["code"], "changed",
                        [{"field": "revision", "old": issued_rev[code], "new": revision}], state="pending",
                    )
                )
    return sorted(changes, key=lambda c: c.code)


def needs_reissue(session: Session) -> bool:
    return latest_issue(session) is not None and bool(reissue_changes(session))


# -- issuing -------------------------------------------------------------------------------


def issue_catalog(session: Session, actor: Actor, data: IssueInput) -> CatalogIssue:
    """Record an issued version: the accepted entries frozen with the decision's details.

    Refused (409) when nothing changed since the latest issue or no entry is accepted.
    """
    require(actor, CatalogAction.ISSUE)
    errors, when = decisions.decision_errors(data)
    if errors:
        raise Invalid(fields=errors)
    assert when is not None
    entries = current_entries(session)
    if not entries:
        raise Conflict(Msg("No accepted entry to issue yet."), code="nothing_to_issue")
    latest = latest_issue(session)
    if latest is not None and not diff_entries(list(latest.snapshot.get("entries", [])), entries):
        raise Conflict(
            Msg("Nothing was accepted since version {n}: there is nothing new to issue.", n=latest.number),
            code="nothing_to_issue",
        )
    header = decisions.next_header(session, CatalogIssue, actor, data, when, latest)
    number = header["number"]
    issue = CatalogIssue(**decisions.version_fields(header), entry_count=len(entries), snapshot={"entries": entries, "issued": header})
    session.add(issue)
    record(
        session, actor, CatalogEvent.ISSUE, issue, after=header, label=f"#{number} {header['decision_number']}",
        details={"entries": [e["code"] for e in entries]},
    )
    return issue
