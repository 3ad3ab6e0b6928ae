# SPDX-License-Identifier: AGPL-3.0-or-later
"""Catalog entries (Decree 47 Art. 11(3)-(4)): save, submit, review, accept, withdraw.

Every function that acts for someone takes ``(session, actor, ...)``, checks the
actor's permission itself and records each change in the audit trail in the caller's
transaction (the caller commits). Categories, elements and the availability matrix
are part of their database: their changes are recorded, field by field, in the
database's own audit record (``entries.flatten``).

Workflow: an agency drafts an entry and submits it; the IT unit (the platform
administrator) comments per field and requests changes or accepts. Accepting
*publishes* the entry: its content is copied to ``PublicEntry`` and indexed for the
public search. Editing an accepted entry turns it back into a draft while the public
keeps seeing the accepted version until the next acceptance. Issued versions of the
whole catalog live in ``catalog.issues``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session, selectinload

from dulieuso.agencies.models import Agency
from dulieuso.audit import service as audit
from dulieuso.audit.models import AuditEvent
from dulieuso.audit.service import record
from dulieuso.auth.permissions import Actor, can, require
from dulieuso.catalog import permissions as _permissions  # noqa: F401  (registers the actions)
from dulieuso.catalog.entries import (
    REQUIRED_AT_SUBMISSION,
    CategoryData,
    ElementData,
    EntryData,
    entry_dict,
    field_changes,
    flatten,
)
from dulieuso.catalog.events import CatalogEvent
from dulieuso.catalog.lookups import Lookups, code_list_keys, in_chunks, system_keys
from dulieuso.catalog.models import (
    CategoryAvailability,
    CodeList,
    DataCategory,
    Database,
    DataElement,
    ElementType,
    EntryStatus,
    Importance,
    InformationSystem,
    PublicEntry,
    ReviewComment,
    SearchRow,
    SearchTerm,
    SharingForm,
    SharingScope,
    UserType,
)
from dulieuso.catalog import search
from dulieuso.catalog.permissions import CatalogAction
from dulieuso.db import utcnow
from dulieuso.errors import Conflict, DomainError, Invalid, NotFound
from dulieuso.i18n import Msg
from dulieuso.vntext import fold

#: Entry codes: upper-case letters, digits, ".", "_" and "-"; e.g. ``LCU-STC-NGANSACH``.
CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{1,59}$")
MAX_CATEGORIES = 200
#: Entries ``save_entries`` writes per flush: a few hundred entries make a few thousand
#: rows, inserted with one executemany per table, without holding a whole file pending.
SAVE_CHUNK = 500
MAX_ELEMENTS = 500
TEXT_LIMITS = {"name": 300, "contact_name": 200, "contact_email": 254, "contact_phone": 40, "decision20_item": 200}
FIELD_NAMES = frozenset(flatten({}).keys()) | {
    "code", "name", "purpose", "scope", "content", "collection_mechanism", "update_mechanism",
    "update_frequency", "data_sources", "owner_agency", "level", "legal_basis", "hosting",
    "start_year", "record_count_estimate", "contact", "sharing_scope", "importance",
    "decision20_item", "contains_personal_data", "contains_state_secret", "is_original_data",
    "systems", "categories",
}
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Notice:
    """A located suggestion that does not stop saving (e.g. Art. 34(1) for master data)."""

    field: str
    message: Msg


@dataclass
class SaveResult:
    database: Database
    created: bool
    changed: bool
    notices: list[Notice] = field(default_factory=list)


# -- reading ---------------------------------------------------------------------------


def _query() -> Any:
    return select(Database).options(
        selectinload(Database.categories).selectinload(DataCategory.elements),
        selectinload(Database.categories).selectinload(DataCategory.availability),
        selectinload(Database.systems),
    )


def find(session: Session, code: str) -> Database | None:
    """The entry with ``code`` (no permission check: for other services)."""
    return session.scalar(_query().where(Database.code == code.strip().upper()))


def find_many(session: Session, codes: Iterable[str]) -> dict[str, Database]:
    """The entries with these codes, by code, with what ``find`` loads (no permission check).

    Four queries per ``lookups.CHUNK`` codes instead of four per entry.
    """
    wanted = [c.strip().upper() for c in codes if c and c.strip()]
    found = in_chunks(wanted, lambda part: session.scalars(_query().where(Database.code.in_(part))))
    return {database.code: database for database in found}


def code_list_codes(session: Session) -> dict[uuid.UUID, str]:
    return dict(session.execute(select(CodeList.id, CodeList.code)).all())


def to_dict(session: Session, database: Database, lookups: Lookups | None = None) -> dict[str, Any]:
    """``entries.entry_dict`` of ``database`` with its agency and code lists filled in
    (from ``lookups`` when given, which spares two queries per entry in a batch)."""
    if lookups is not None:
        agency = lookups.agency_by_id(database.owner_agency_id)
        codes = lookups.code_list_codes()
    else:
        found = session.get(Agency, database.owner_agency_id)
        assert found is not None
        agency, codes = found, code_list_codes(session)
    return entry_dict(database, agency_code=agency.code, agency_name=agency.name_vi, code_lists=codes)


def get_entry(session: Session, actor: Actor, code: str) -> Database:
    """The working version of an entry, for its agency's staff and the IT unit (else 404)."""
    database = find(session, code)
    if database is None or not can(actor, CatalogAction.VIEW_DRAFTS, database.owner_agency_id):
        raise NotFound(Msg("Database {code} not found.", code=code), code="database_not_found")
    return database


def public_entry(session: Session, code: str) -> PublicEntry | None:
    return session.scalar(select(PublicEntry).where(PublicEntry.code == code.strip().upper()))


@dataclass
class EntryDetail:
    """What the database page and ``GET /api/v1/databases/{code}`` show."""

    entry: dict[str, Any]
    #: True when ``entry`` is the working version (staff), False for the published one.
    working: bool
    published_revision: int | None
    published_at: datetime | None
    comments: list[ReviewComment]


def detail(session: Session, actor: Actor, code: str) -> EntryDetail:
    """An entry as ``actor`` may see it: staff of its agency and the IT unit get the
    working version; everyone else the published one; state secrets and drafts are 404."""
    database = find(session, code)
    published = public_entry(session, code)
    if database is not None and can(actor, CatalogAction.VIEW_DRAFTS, database.owner_agency_id):
        comments = list(
            session.scalars(
                select(ReviewComment).where(ReviewComment.database_id == database.id).order_by(ReviewComment.created_at)
            )
        )
        return EntryDetail(
            entry=to_dict(session, database),
            working=True,
            published_revision=published.revision if published else None,
            published_at=published.published_at if published else None,
            comments=comments,
        )
    require(actor, CatalogAction.VIEW)
    if published is None:
        raise NotFound(Msg("Database {code} not found.", code=code), code="database_not_found")
    return EntryDetail(
        entry=dict(published.entry), working=False, published_revision=published.revision,
        published_at=published.published_at, comments=[],
    )


def entry_history(session: Session, actor: Actor, code: str) -> list[AuditEvent]:
    """The audit history of an entry (its agency's staff and the IT unit)."""
    database = get_entry(session, actor, code)
    return audit.history(session, "databases", str(database.id))


@dataclass(frozen=True)
class EntryRow:
    code: str
    name: str
    agency_code: str
    agency_name: str
    status: EntryStatus
    revision: int
    published_revision: int | None
    updated_at: datetime
    submitted_at: datetime | None
    open_comments: int
    contains_state_secret: bool


def _rows(session: Session, where: Iterable[Any]) -> list[EntryRow]:
    open_comments = (
        select(ReviewComment.database_id, func.count().label("n"))
        .where(ReviewComment.resolved_at.is_(None))
        .group_by(ReviewComment.database_id)
        .subquery()
    )
    stmt = (
        select(Database, Agency.code, Agency.name_vi, PublicEntry.revision, open_comments.c.n)
        .join(Agency, Agency.id == Database.owner_agency_id)
        .outerjoin(PublicEntry, PublicEntry.database_id == Database.id)
        .outerjoin(open_comments, open_comments.c.database_id == Database.id)
        .where(*where)
        .order_by(Agency.code, Database.code)
    )
    return [
        EntryRow(
            code=db.code, name=db.name, agency_code=agency_code, agency_name=agency_name,
            status=db.status, revision=db.revision, published_revision=published,
            updated_at=db.updated_at, submitted_at=db.submitted_at, open_comments=n or 0,
            contains_state_secret=db.contains_state_secret,
        )
        for db, agency_code, agency_name, published, n in session.execute(stmt)
    ]


def manage_list(session: Session, actor: Actor, agency_code: str | None = None) -> list[EntryRow]:
    """Entries an agency manages, with their status (the actor's own agency by default;
    the IT unit sees every agency's, or one agency's with ``agency_code``)."""
    if agency_code:
        agency = _agency(session, agency_code)
        require(actor, CatalogAction.VIEW_DRAFTS, agency.id)
        return _rows(session, [Database.owner_agency_id == agency.id])
    if can(actor, CatalogAction.VIEW_DRAFTS):
        return _rows(session, [])
    require(actor, CatalogAction.VIEW_DRAFTS, actor.agency_id)
    return _rows(session, [Database.owner_agency_id == actor.agency_id])


@dataclass
class ReviewQueue:
    """What waits on whom: submitted entries wait on the IT unit, entries with changes
    requested wait on their agency, drafts are still being written."""

    waiting_on_it_unit: list[EntryRow]
    waiting_on_agency: list[EntryRow]
    drafts: list[EntryRow]


def review_queue(session: Session, actor: Actor) -> ReviewQueue:
    """The review queue; an agency's staff see their own agency's part of it."""
    rows = manage_list(session, actor)
    return ReviewQueue(
        waiting_on_it_unit=sorted(
            (r for r in rows if r.status is EntryStatus.SUBMITTED),
            key=lambda r: r.submitted_at or r.updated_at,
        ),
        waiting_on_agency=[r for r in rows if r.status is EntryStatus.CHANGES_REQUESTED],
        drafts=[r for r in rows if r.status is EntryStatus.DRAFT],
    )


# -- saving ------------------------------------------------------------------------------


def _agency(session: Session, code: str) -> Agency:
    agency = session.scalar(select(Agency).where(Agency.code == (code or "").strip().upper()))
    if agency is None:
        raise NotFound(Msg("Agency {code} not found.", code=code), code="agency_not_found")
    return agency


def _clean(text: str | None) -> str:
    return (text or "").strip()


def validate(
    session: Session, data: EntryData, lookups: Lookups | None = None
) -> tuple[dict[str, list[Msg]], list[Notice], Agency | None, dict[str, uuid.UUID], list[InformationSystem]]:
    """Every error of ``data``, located by field (``categories[2].elements[0].code_list``),
    plus the suggestions, the owner agency and the code lists and systems it names.

    ``lookups``: the agencies, systems and code lists of a batch that ``data`` belongs
    to (``Lookups.for_entries``); without it they are loaded for ``data`` alone.
    """
    if lookups is None:
        lookups = Lookups.for_entries(session, [data])
    errors: dict[str, list[Msg]] = {}
    notices: list[Notice] = []

    def err(name: str, message: Msg) -> None:
        errors.setdefault(name, []).append(message)

    code = _clean(data.code).upper()
    if not code:
        err("code", Msg("This field is required."))
    elif not CODE_RE.match(code):
        err("code", Msg("Use 2 to 60 capital letters, digits, '.', '_' or '-' (for example LCU-STC-NGANSACH)."))
    if not _clean(data.name):
        err("name", Msg("This field is required."))
    for name, limit in TEXT_LIMITS.items():
        value = getattr(data, name)
        if value and len(value) > limit:
            err(name, Msg("The value is too long (at most {n} characters).", n=limit))
    agency = None
    if not _clean(data.owner_agency):
        err("owner_agency", Msg("This field is required."))
    else:
        agency = lookups.agency(data.owner_agency)
        if agency is None:
            err("owner_agency", Msg("Unknown agency code {code}.", code=data.owner_agency))
    if data.start_year is not None and not 1945 <= data.start_year <= 2100:
        err("start_year", Msg("Enter a year between 1945 and 2100."))
    if data.record_count_estimate is not None and data.record_count_estimate < 0:
        err("record_count_estimate", Msg("The number cannot be negative."))
    if data.importance in (Importance.CORE, Importance.IMPORTANT) and not _clean(data.decision20_item):
        err(
            "decision20_item",
            Msg("Core and important data must name its item in the list of Decision 20/2025/QĐ-TTg."),
        )
    if data.contains_state_secret and data.sharing_scope is SharingScope.OPEN:
        err("sharing_scope", Msg("A database containing state secrets can never be open data."))

    systems: list[InformationSystem] = []
    for i, system_code in enumerate(system_keys(data)):
        system = lookups.system(system_code)
        if system is not None:
            systems.append(system)
        else:
            err(f"systems[{i}]", Msg("Unknown information system {code}.", code=system_code))

    code_lists = {
        code: list_id for code in code_list_keys(data) if (list_id := lookups.code_list_id(code)) is not None
    }
    if len(data.categories) > MAX_CATEGORIES:
        err("categories", Msg("At most {n} categories.", n=MAX_CATEGORIES))
    seen_categories: set[str] = set()
    for i, category in enumerate(data.categories):
        where = f"categories[{i}]"
        cname = _clean(category.name)
        if not cname:
            err(f"{where}.name", Msg("This field is required."))
        elif fold(cname) in seen_categories:
            err(f"{where}.name", Msg("Another category of this database has the same name."))
        seen_categories.add(fold(cname))
        if len(cname) > 300:
            err(f"{where}.name", Msg("The value is too long (at most {n} characters).", n=300))
        forms = {UserType(k): SharingForm(v) for k, v in category.availability.items()}
        has_personal = any(e.is_personal_data for e in category.elements)
        for user_type, form in forms.items():
            if form is SharingForm.OPEN_DATA and data.contains_state_secret:
                err(
                    f"{where}.availability.{user_type.value}",
                    Msg("A database containing state secrets can never be open data."),
                )
            elif form is SharingForm.OPEN_DATA and has_personal:
                err(
                    f"{where}.availability.{user_type.value}",
                    Msg("A category with personal data cannot be open data."),
                )
        if len(category.elements) > MAX_ELEMENTS:
            err(f"{where}.elements", Msg("At most {n} elements.", n=MAX_ELEMENTS))
        seen_elements: set[str] = set()
        for j, element in enumerate(category.elements):
            ewhere = f"{where}.elements[{j}]"
            ename = _clean(element.name)
            if not ename:
                err(f"{ewhere}.name", Msg("This field is required."))
            elif fold(ename) in seen_elements:
                err(f"{ewhere}.name", Msg("Another element of this category has the same name."))
            seen_elements.add(fold(ename))
            if len(ename) > 300:
                err(f"{ewhere}.name", Msg("The value is too long (at most {n} characters).", n=300))
            if element.unit and len(element.unit) > 60:
                err(f"{ewhere}.unit", Msg("The value is too long (at most {n} characters).", n=60))
            list_code = _clean(element.code_list)
            if list_code and list_code not in code_lists:
                err(f"{ewhere}.code_list", Msg("Unknown code list {code}.", code=list_code))
            if element.data_type is ElementType.CODE and not list_code:
                notices.append(
                    Notice(
                        f"{ewhere}.code_list",
                        Msg("A coded element should be bound to a shared code list (Decree 47 Art. 9(2))."),
                    )
                )
        has_master = any(e.is_master_data for e in category.elements)
        if has_master and SharingForm.DEFAULT not in forms.values() and SharingForm.OPEN_DATA not in forms.values():
            notices.append(
                Notice(
                    f"{where}.availability",
                    Msg(
                        "This category holds master data: consider default sharing for state agencies "
                        "(Decree 47 Art. 34(1))."
                    ),
                )
            )
    return errors, notices, agency, code_lists, systems


def _set(obj: Any, name: str, value: Any) -> None:
    """Assign only real changes, so an unchanged save writes nothing."""
    if getattr(obj, name) != value:
        setattr(obj, name, value)


def _apply_categories(database: Database, categories: Sequence[CategoryData], code_lists: Mapping[str, uuid.UUID]) -> None:
    """Update categories and elements in place, matched by name (their ids stay stable).

    New rows get their ids here rather than from the column default: the ORM then
    inserts a batch of them as one executemany instead of asking the database to return
    each new primary key (``save_entries`` flushes thousands at once).
    """
    existing = {fold(c.name): c for c in database.categories}
    kept: list[DataCategory] = []
    for position, data in enumerate(categories):
        values = {"name": _clean(data.name), "description": _clean(data.description), "position": position}
        category = existing.pop(fold(data.name), None)
        if category is None:
            category = DataCategory(id=uuid.uuid4(), **values)
            database.categories.append(category)
        else:
            for key, value in values.items():
                _set(category, key, value)
        _apply_elements(category, data.elements, code_lists)
        cells = {UserType(c.user_type): c for c in category.availability}
        for user_type in UserType:
            form = SharingForm(data.availability.get(user_type, SharingForm.NOT_SHARED))
            if user_type in cells:
                _set(cells[user_type], "sharing_form", form)
            else:
                category.availability.append(CategoryAvailability(user_type=user_type, sharing_form=form))
        kept.append(category)
    for stale in existing.values():
        database.categories.remove(stale)


def _apply_elements(category: DataCategory, elements: Sequence[ElementData], code_lists: Mapping[str, uuid.UUID]) -> None:
    existing = {fold(e.name): e for e in category.elements}
    for position, data in enumerate(elements):
        list_code = _clean(data.code_list)
        values = {
            "name": _clean(data.name),
            "data_type": ElementType(data.data_type),
            "description": _clean(data.description),
            "unit": _clean(data.unit) or None,
            "required": bool(data.required),
            "code_list_id": code_lists.get(list_code) if list_code else None,
            "is_master_data": bool(data.is_master_data),
            "is_personal_data": bool(data.is_personal_data),
            "dictionary_id": _clean(data.dictionary_id) or None,
            "position": position,
            "search_text": fold(f"{data.name} {data.description or ''}"),
        }
        element = existing.pop(fold(data.name), None)
        if element is None:
            category.elements.append(DataElement(id=uuid.uuid4(), **values))
            continue
        for key, value in values.items():
            _set(element, key, value)
    for stale in existing.values():
        category.elements.remove(stale)


def search_text_for(database: Database, agency: Agency) -> str:
    """Folded code, name, purpose, content, agency, category and element names."""
    parts = [database.code, database.name, database.purpose, database.content, agency.code, agency.name_vi]
    for category in database.categories:
        parts.append(category.name)
        parts.extend(e.name for e in category.elements)
    return fold(" ".join(p for p in parts if p))


def _audit_view(entry: Mapping[str, Any], status: EntryStatus | None) -> dict[str, Any]:
    flat = flatten(entry)
    flat["status"] = status.value if status else None
    return flat


def save_entry(
    session: Session, actor: Actor, data: EntryData, *, mode: str = "upsert"
) -> SaveResult:
    """Create or update (by code) one catalog entry; all or nothing.

    ``mode``: ``"create"`` refuses an existing code (409), ``"update"`` a missing one
    (404), ``"upsert"`` (spreadsheet import) does either. Errors are raised together as
    one ``Invalid`` located by field; nothing is saved then. An empty contact becomes
    the agency's focal point in office. A real change bumps ``revision`` and turns a
    submitted or accepted entry back into a draft (the public keeps the accepted
    version until it is accepted again).
    """
    code = _clean(data.code).upper()
    database = find(session, code) if code else None
    if mode == "create" and database is not None:
        raise Conflict(
            Msg("A database with code {code} already exists.", code=code),
            code="duplicate_code",
            fields={"code": [Msg("A database with code {code} already exists.", code=code)]},
        )
    if mode == "update" and database is None:
        raise NotFound(Msg("Database {code} not found.", code=code), code="database_not_found")
    lookups = Lookups.for_entries(session, [data])
    checked = _check(session, actor, data, database.owner_agency_id if database else None, lookups)
    result, change = _write(session, database, checked, lookups)
    session.flush()
    if change is not None:
        _record(session, actor, change)
    return result


class EntryRefused(DomainError):
    """``save_entries`` refused ``entries[index]``: ``reason`` is what ``save_entry``
    raises for that entry. This error repeats its status, code, message and fields, so
    it renders like it anywhere; ``index`` and ``entry_code`` say which entry it was."""

    def __init__(self, index: int, entry_code: str, reason: DomainError) -> None:
        super().__init__(reason.message, code=reason.code, fields=reason.fields, extra=reason.extra)
        self.status = reason.status
        self.index = index
        self.entry_code = entry_code
        self.reason = reason


def save_entries(
    session: Session, actor: Actor, entries: Sequence[EntryData], *, progress: Callable[[int, int], None] | None = None
) -> list[SaveResult]:
    """Create or update (by code) many entries: what ``save_entry(mode="upsert")`` does
    for each in turn, with the same checks, messages, rows and audit records (the
    spreadsheet import). One by one costs about ten statements per entry, a round trip
    each on PostgreSQL; this costs a few per ``SAVE_CHUNK`` entries plus the insert of
    each entry's audit record.

    All or nothing: every entry is checked before anything is written, and the first
    refused one raises ``EntryRefused``. A code given twice saves the first and then
    updates it, as two calls would. Agencies, systems, code lists, focal points and the
    saved entries are loaded once (``Lookups``, ``find_many``); the entries are written
    ``SAVE_CHUNK`` at a time, each chunk in one flush, then one audit record per created
    or changed entry. ``progress(done, total)`` is called after each chunk.
    """
    lookups = Lookups.for_entries(session, entries)
    codes = [_clean(data.code).upper() for data in entries]
    owner_of = select(Database.code, Database.owner_agency_id)
    owners: dict[str, uuid.UUID] = dict(
        in_chunks((code for code in codes if code), lambda part: session.execute(owner_of.where(Database.code.in_(part))))
    )
    existing = set(owners)
    checked: list[_Checked] = []
    for index, (code, data) in enumerate(zip(codes, entries, strict=True)):
        try:
            item = _check(session, actor, data, owners.get(code) if code else None, lookups)
        except DomainError as error:
            raise EntryRefused(index, code, error) from error
        owners[code] = item.agency.id  # a second row of this code updates what this one saved
        checked.append(item)

    results: list[SaveResult] = []
    saved: dict[str, Database] = {}
    for start in range(0, len(entries), SAVE_CHUNK):
        part = range(start, min(start + SAVE_CHUNK, len(entries)))
        saved.update(find_many(session, {codes[i] for i in part if codes[i] in existing} - saved.keys()))
        changes: list[_Change] = []
        for i in part:
            result, change = _write(session, saved.get(codes[i]), checked[i], lookups)
            saved[codes[i]] = result.database
            results.append(result)
            if change is not None:
                changes.append(change)
        session.flush()  # the chunk's rows, a few executemany statements per table
        for change in changes:
            _record(session, actor, change)
        if progress is not None:
            progress(part.stop, len(entries))
    return results


@dataclass
class _Checked:
    """An entry ``_check`` let through, with what ``validate`` found for it."""

    data: EntryData
    code: str
    agency: Agency
    code_lists: dict[str, uuid.UUID]
    systems: list[InformationSystem]
    notices: list[Notice]


@dataclass
class _Change:
    """The audit record of one saved entry, taken when it was saved (a batch records
    later, and a code given twice must record each state)."""

    database: Database
    tag: CatalogEvent
    before: dict[str, Any] | None
    after: dict[str, Any]
    label: str
    revision: int


def _check(
    session: Session, actor: Actor, data: EntryData, owner_id: uuid.UUID | None, lookups: Lookups
) -> _Checked:
    """``save_entry``'s permission checks and validation, in its order; raises what it raises.

    ``owner_id``: the owner agency of the saved entry with this code, None for a new code.
    """
    if owner_id is not None:
        require(actor, CatalogAction.EDIT, owner_id)
    errors, notices, agency, code_lists, systems = validate(session, data, lookups)
    if agency is not None:
        require(actor, CatalogAction.EDIT, agency.id)
    if errors:
        raise Invalid(
            Msg("The entry was not saved: {n} field(s) need attention.", n=len(errors)), fields=errors
        )
    assert agency is not None
    return _Checked(data, _clean(data.code).upper(), agency, code_lists, systems, notices)


def _write(
    session: Session, database: Database | None, checked: _Checked, lookups: Lookups
) -> tuple[SaveResult, _Change | None]:
    """Apply a checked entry to ``database`` (None: create it) in the session without
    flushing it (only taking a state-secret entry out of the public catalog flushes);
    the audit record it needs, or None when its content did not change."""
    data, agency = checked.data, checked.agency
    contact = (_clean(data.contact_name), _clean(data.contact_email), _clean(data.contact_phone))
    if not any(contact):
        point = lookups.focal_point(agency)
        if point is not None:
            contact = (point.full_name, point.email, point.phone)

    created = database is None
    before: dict[str, Any] | None = None
    if database is None:
        database = Database(id=uuid.uuid4(), code=checked.code, owner_agency_id=agency.id, status=EntryStatus.DRAFT,
                            revision=1, sharing_scope=data.sharing_scope, importance=data.importance,
                            name=_clean(data.name))  # the id: see _apply_categories
        session.add(database)
    else:
        before = _audit_view(to_dict(session, database, lookups), database.status)
    values: dict[str, Any] = {
        "name": _clean(data.name),
        "owner_agency_id": agency.id,
        "purpose": _clean(data.purpose),
        "scope": _clean(data.scope),
        "content": _clean(data.content),
        "collection_mechanism": _clean(data.collection_mechanism),
        "update_mechanism": _clean(data.update_mechanism),
        "update_frequency": data.update_frequency,
        "data_sources": _clean(data.data_sources),
        "level": data.level,
        "legal_basis": _clean(data.legal_basis),
        "hosting": data.hosting,
        "start_year": data.start_year,
        "record_count_estimate": data.record_count_estimate,
        "contact_name": contact[0] or None,
        "contact_email": contact[1] or None,
        "contact_phone": contact[2] or None,
        "sharing_scope": SharingScope(data.sharing_scope),
        "importance": Importance(data.importance),
        "decision20_item": _clean(data.decision20_item) or None,
        "contains_personal_data": bool(data.contains_personal_data)
        or any(e.is_personal_data for c in data.categories for e in c.elements),
        "contains_state_secret": bool(data.contains_state_secret),
        "is_original_data": bool(data.is_original_data),
    }
    for key, value in values.items():
        _set(database, key, value)
    if sorted(s.code for s in database.systems) != sorted(s.code for s in checked.systems):
        database.systems = checked.systems
    _apply_categories(database, data.categories, checked.code_lists)
    _set(database, "search_text", search_text_for(database, agency))

    # What a flush would write is what the objects hold now: read the "after" view from
    # them rather than flushing and reading the entry back.
    after_entry = to_dict(session, database, lookups)
    if before is not None and not field_changes(before, after_entry):
        return SaveResult(database=database, created=False, changed=False, notices=checked.notices), None
    if not created:
        database.revision += 1
        if database.status is not EntryStatus.DRAFT:
            database.status = EntryStatus.DRAFT
    if database.contains_state_secret:
        _unpublish(session, database)
    change = _Change(
        database=database,
        tag=CatalogEvent.DATABASE_CREATE if created else CatalogEvent.DATABASE_UPDATE,
        before=before,
        after=_audit_view(after_entry, database.status),
        label=f"{database.code} – {database.name}",
        revision=database.revision,
    )
    return SaveResult(database=database, created=created, changed=True, notices=checked.notices), change


def _record(session: Session, actor: Actor, change: _Change) -> None:
    record(
        session, actor, change.tag, change.database, before=change.before, after=change.after, label=change.label,
        details={"revision": change.revision},
    )


# -- the workflow ------------------------------------------------------------------------


def submission_errors(entry: Mapping[str, Any]) -> dict[str, list[Msg]]:
    """What Art. 11(4)(a)-(d) still lacks in ``entry`` (an ``entry_dict``), by field."""
    errors: dict[str, list[Msg]] = {}
    for name in REQUIRED_AT_SUBMISSION:
        value = entry.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            errors.setdefault(name, []).append(Msg("Required before submission (Decree 47 Art. 11(4))."))
    categories = entry.get("categories") or []
    if not categories:
        errors["categories"] = [Msg("Add at least one data category with its elements (Decree 47 Art. 11(4)(d)).")]
    for i, category in enumerate(categories):
        if not category.get("elements"):
            errors[f"categories[{i}].elements"] = [Msg("Add at least one data element to this category.")]
        matrix = category.get("availability") or {}
        for user_type in UserType:
            if user_type.value not in matrix:
                errors[f"categories[{i}].availability.{user_type.value}"] = [
                    Msg("Choose how this category is available to this user type.")
                ]
    return errors


def _transition(
    session: Session, actor: Actor, database: Database, tag: CatalogEvent, status: EntryStatus,
    details: Mapping[str, Any] | None = None,
) -> None:
    before = database.status
    database.status = status
    record(
        session, actor, tag, database, before={"status": before.value}, after={"status": status.value},
        label=f"{database.code} – {database.name}", details=details,
    )


def _wrong_status(database: Database) -> Conflict:
    return Conflict(
        Msg("This cannot be done while the entry is {status}.", status=database.status.value),
        code="wrong_status",
    )


def submit(session: Session, actor: Actor, code: str) -> Database:
    """Submit an entry to the IT unit; every Art. 11(4) field must be filled (422 names each)."""
    database = get_entry(session, actor, code)
    require(actor, CatalogAction.SUBMIT, database.owner_agency_id)
    if database.status not in (EntryStatus.DRAFT, EntryStatus.CHANGES_REQUESTED, EntryStatus.WITHDRAWN):
        raise _wrong_status(database)
    errors = submission_errors(to_dict(session, database))
    if errors:
        raise Invalid(
            Msg("The entry cannot be submitted yet: {n} field(s) are missing.", n=len(errors)),
            code="incomplete_entry", fields=errors,
        )
    database.submitted_at = utcnow()
    _transition(session, actor, database, CatalogEvent.DATABASE_SUBMIT, EntryStatus.SUBMITTED)
    return database


def add_comment(session: Session, actor: Actor, code: str, field_name: str | None, comment: str) -> ReviewComment:
    """A reviewer's comment on one field of an entry (or on the whole entry)."""
    database = get_entry(session, actor, code)
    require(actor, CatalogAction.REVIEW, database.owner_agency_id)
    text = _clean(comment)
    errors: dict[str, list[Msg]] = {}
    if not text:
        errors["comment"] = [Msg("This field is required.")]
    elif len(text) > 4000:
        errors["comment"] = [Msg("The value is too long (at most {n} characters).", n=4000)]
    target = _clean(field_name) or None
    if target and len(target) > 80:
        errors["field"] = [Msg("The value is too long (at most {n} characters).", n=80)]
    if errors:
        raise Invalid(fields=errors)
    note = ReviewComment(
        database_id=database.id, field=target, comment=text, author_id=actor.user_id, author_label=actor.label
    )
    session.add(note)
    record(
        session, actor, CatalogEvent.DATABASE_COMMENT, database, label=f"{database.code} – {database.name}",
        details={"field": target, "comment": text},
    )
    return note


def request_changes(session: Session, actor: Actor, code: str, note: str = "") -> Database:
    """Send a submitted entry back to its agency; needs a note or an open comment."""
    database = get_entry(session, actor, code)
    require(actor, CatalogAction.REVIEW, database.owner_agency_id)
    if database.status is not EntryStatus.SUBMITTED:
        raise _wrong_status(database)
    if _clean(note):
        add_comment(session, actor, code, None, note)
    open_count = session.scalar(
        select(func.count()).where(ReviewComment.database_id == database.id, ReviewComment.resolved_at.is_(None))
    )
    if not open_count:
        raise Invalid(fields={"note": [Msg("Say what has to change: add a note or a comment on a field.")]})
    _transition(session, actor, database, CatalogEvent.DATABASE_REQUEST_CHANGES, EntryStatus.CHANGES_REQUESTED)
    return database


def accept(session: Session, actor: Actor, code: str) -> Database:
    """Accept a submitted entry and publish it in the public catalog (unless state-secret)."""
    database = get_entry(session, actor, code)
    require(actor, CatalogAction.REVIEW, database.owner_agency_id)
    if database.status is not EntryStatus.SUBMITTED:
        raise _wrong_status(database)
    now = utcnow()
    database.accepted_at = now
    for comment in session.scalars(
        select(ReviewComment).where(ReviewComment.database_id == database.id, ReviewComment.resolved_at.is_(None))
    ):
        comment.resolved_at = now
    _transition(
        session, actor, database, CatalogEvent.DATABASE_ACCEPT, EntryStatus.ACCEPTED,
        details={"revision": database.revision, "published": not database.contains_state_secret},
    )
    if database.contains_state_secret:
        _unpublish(session, database)
    else:
        publish(session, database)
    return database


def withdraw(session: Session, actor: Actor, code: str) -> Database:
    """Take an entry out of the catalog (it leaves the public catalog; the next issue drops it)."""
    database = get_entry(session, actor, code)
    require(actor, CatalogAction.SUBMIT, database.owner_agency_id)
    if database.status is EntryStatus.WITHDRAWN:
        raise _wrong_status(database)
    _unpublish(session, database)
    _transition(session, actor, database, CatalogEvent.DATABASE_WITHDRAW, EntryStatus.WITHDRAWN)
    return database


def delete_entry(session: Session, actor: Actor, code: str) -> None:
    """Delete an entry that is not published (withdraw a published one first)."""
    database = get_entry(session, actor, code)
    require(actor, CatalogAction.EDIT, database.owner_agency_id)
    if public_entry(session, database.code) is not None:
        raise Conflict(
            Msg("This entry is in the public catalog: withdraw it instead of deleting it."), code="published"
        )
    before = _audit_view(to_dict(session, database), database.status)
    record(session, actor, CatalogEvent.DATABASE_DELETE, database, before=before,
           label=f"{database.code} – {database.name}")
    session.delete(database)
    session.flush()


# -- publishing and the search index --------------------------------------------------


def _terms(entry: Mapping[str, Any]) -> dict[str, int]:
    weighted: list[tuple[int, Iterable[str | None]]] = [
        (4, [entry.get("code"), entry.get("name")]),
        (3, [entry["owner_agency"].get("code"), entry["owner_agency"].get("name")]),
        (2, [c.get("name") for c in entry.get("categories") or []]),
        (1, [entry.get("purpose"), entry.get("scope"), entry.get("content")]
         + [e.get("name") for c in entry.get("categories") or [] for e in c.get("elements") or []]),
    ]
    terms: dict[str, int] = {}
    for weight, texts in weighted:
        for text in texts:
            for word in _WORD.findall(fold(text)):
                word = word[:60]
                if terms.get(word, 0) < weight:
                    terms[word] = weight
    return terms


def public_row(database: Database, entry: Mapping[str, Any]) -> dict[str, Any]:
    forms = _forms(entry)
    return {
        "database_id": database.id,
        "code": entry["code"],
        "name": entry["name"],
        "owner_agency_id": database.owner_agency_id,
        "agency_code": entry["owner_agency"]["code"],
        "agency_name": entry["owner_agency"]["name"],
        "level": entry.get("level"),
        "importance": entry.get("importance") or Importance.OTHER.value,
        "form_open_data": SharingForm.OPEN_DATA.value in forms,
        "form_default": SharingForm.DEFAULT.value in forms,
        "form_special_request": SharingForm.SPECIAL_REQUEST.value in forms,
        "form_not_shared": SharingForm.NOT_SHARED.value in forms,
        "revision": entry["revision"],
        "published_at": utcnow(),
        "entry": dict(entry),
    }


def _forms(entry: Mapping[str, Any]) -> set[str]:
    return {form for c in entry.get("categories") or [] for form in (c.get("availability") or {}).values()}


def _index_rows(database_id: uuid.UUID, entry: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The search row and the search terms of one published entry."""
    forms = _forms(entry)
    row = {
        "database_id": database_id,
        "code": entry["code"],
        "name": entry["name"],
        "purpose": (entry.get("purpose") or "")[:400],
        "agency_code": entry["owner_agency"]["code"],
        "agency_name": entry["owner_agency"]["name"],
        "level": entry.get("level"),
        "importance": entry.get("importance") or Importance.OTHER.value,
        "form_open_data": SharingForm.OPEN_DATA.value in forms,
        "form_default": SharingForm.DEFAULT.value in forms,
        "form_special_request": SharingForm.SPECIAL_REQUEST.value in forms,
        "form_not_shared": SharingForm.NOT_SHARED.value in forms,
    }
    terms = [{"database_id": database_id, "term": t, "weight": w} for t, w in _terms(entry).items()]
    return row, terms


def publish(session: Session, database: Database) -> PublicEntry:
    """Copy the entry's current content to the public catalog and index it for search.

    Called by ``accept`` (which records the audit event).
    """
    entry = to_dict(session, database)
    entry["status"] = EntryStatus.ACCEPTED.value
    _unpublish(session, database)
    row = PublicEntry(**public_row(database, entry))
    session.add(row)
    session.flush()
    search_row, terms = _index_rows(database.id, entry)
    session.execute(insert(SearchRow), [search_row])
    if terms:
        session.execute(insert(SearchTerm), terms)
    return row


def _unpublish(session: Session, database: Database) -> None:
    session.flush()
    session.execute(delete(SearchTerm).where(SearchTerm.database_id == database.id))
    session.execute(delete(SearchRow).where(SearchRow.database_id == database.id))
    session.execute(delete(PublicEntry).where(PublicEntry.database_id == database.id))
    search.mark_changed(session)


def rebuild_search_index(session: Session, batch: int = 500) -> int:
    """Rebuild the search index from the published copies (after a bulk load or a change
    of the indexing rules). Accepted, non-secret entries without a published copy (rows
    inserted without the service) are published from their current state first.
    Returns how many entries are indexed.
    """
    missing = session.scalars(
        _query().outerjoin(PublicEntry, PublicEntry.database_id == Database.id).where(
            PublicEntry.database_id.is_(None),
            Database.status == EntryStatus.ACCEPTED,
            Database.contains_state_secret.is_(False),
        )
    ).all()
    for database in missing:
        publish(session, database)
    session.execute(delete(SearchTerm))
    session.execute(delete(SearchRow))
    search.mark_changed(session)
    count = 0
    rows: list[dict[str, Any]] = []
    terms: list[dict[str, Any]] = []
    ids = list(session.scalars(select(PublicEntry.database_id)))
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        for database_id, entry in session.execute(
            select(PublicEntry.database_id, PublicEntry.entry).where(PublicEntry.database_id.in_(chunk))
        ):
            row, row_terms = _index_rows(database_id, entry)
            rows.append(row)
            terms.extend(row_terms)
            count += 1
        _flush_index(session, rows, terms)
    return count


def _flush_index(session: Session, rows: list[dict[str, Any]], terms: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(SearchRow), rows)
    if terms:
        session.execute(insert(SearchTerm), terms)
    rows.clear()
    terms.clear()
