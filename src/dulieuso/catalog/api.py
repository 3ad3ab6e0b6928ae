# SPDX-License-Identifier: AGPL-3.0-or-later
"""JSON routes of the catalog. Reading the public catalog needs no login; writing does.

Routes stay thin: parse, call one service function, commit, shape the answer. The
exports of an issued version (``/catalog/issues/{id}/export.{fmt}``) and the spreadsheet
import live in ``catalog.exports`` and ``catalog.import_views`` with their own routers.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, File, Form, Query, Response, UploadFile

from dulieuso.auth.permissions import Actor
from dulieuso.catalog import codelists, issues, lists, search, service, systems
from dulieuso.catalog.models import ListKind
from dulieuso.catalog.schemas import (
    CodeListIn,
    CodeListSummary,
    CommentIn,
    DerivedListOut,
    DiffOut,
    EntryDetailOut,
    EntryIn,
    EntryOut,
    HistoryOut,
    IssueDetailOut,
    IssueIn,
    IssueOut,
    ListReviewIn,
    NoteIn,
    QueueOut,
    ReissueOut,
    SaveOut,
    SearchOut,
    SystemIn,
    SystemOut,
)
from dulieuso.errors import Invalid
from dulieuso.i18n import Msg
from dulieuso.web.deps import ActorDep, DbDep, LoginDep
from dulieuso.web.schemas import ERROR_RESPONSES, Page

router = APIRouter(tags=["catalog"], responses=ERROR_RESPONSES)


def detail_json(db: DbDep, actor: Actor, code: str) -> dict[str, Any]:
    """``GET /databases/{code}``: the entry as the actor may see it (shared with the page)."""
    found = service.detail(db, actor, code)
    out = dict(found.entry)
    out["working"] = found.working
    out["published_revision"] = found.published_revision
    out["comments"] = [
        {
            "field": c.field, "comment": c.comment, "author": c.author_label,
            "created_at": c.created_at.isoformat(), "resolved": c.resolved_at is not None,
        }
        for c in found.comments
    ]
    return out


def _saved(db: DbDep, result: service.SaveResult) -> dict[str, Any]:
    return {
        "entry": service.to_dict(db, result.database),
        "created": result.created,
        "changed": result.changed,
        "notices": [{"field": n.field, "message": n.message.vi, "message_en": n.message.en} for n in result.notices],
    }


# -- databases -----------------------------------------------------------------------------


@router.get("/databases", response_model=SearchOut, summary="Search the public catalog (with facets)")
def list_databases(
    db: DbDep,
    actor: ActorDep,
    q: str | None = Query(None, max_length=200, description="Words to find; diacritics and case ignored"),
    agency: str | None = Query(None, max_length=40, description="Owner agency code"),
    level: str | None = Query(None, max_length=40),
    sharing_form: str | None = Query(None, max_length=40),
    importance: str | None = Query(None, max_length=40),
    limit: int = Query(20, ge=1, le=search.MAX_LIMIT),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    result = search.search_databases(db, actor, q, agency, level, sharing_form, importance, limit, offset)
    return {
        "items": [vars(hit) for hit in result.items],
        "total": result.total,
        "limit": result.limit,
        "offset": result.offset,
        "facets": result.facets,
    }


@router.post("/databases", response_model=SaveOut, status_code=201, summary="Register a database entry (draft)")
def create_database(body: EntryIn, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    if not body.code:
        raise Invalid(fields={"code": [Msg("This field is required.")]})
    result = service.save_entry(db, actor, body.to_data(), mode="create")
    db.commit()
    return _saved(db, result)


@router.get("/databases/{code}", response_model=EntryDetailOut, summary="One entry with categories, elements and matrix")
def get_database(code: str, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    return detail_json(db, actor, code)


@router.put("/databases/{code}", response_model=SaveOut, summary="Change an entry (it becomes a draft)")
def update_database(code: str, body: EntryIn, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    if body.code and body.code.strip().upper() != code.strip().upper():
        raise Invalid(fields={"code": [Msg("The code cannot be changed.")]})
    result = service.save_entry(db, actor, body.to_data(code), mode="update")
    db.commit()
    return _saved(db, result)


@router.delete("/databases/{code}", status_code=204, summary="Delete an unpublished entry")
def delete_database(code: str, db: DbDep, actor: LoginDep) -> Response:
    service.delete_entry(db, actor, code)
    db.commit()
    return Response(status_code=204)


@router.post("/databases/{code}/submit", response_model=EntryOut, summary="Submit to the IT unit")
def submit_database(code: str, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    database = service.submit(db, actor, code)
    db.commit()
    return service.to_dict(db, database)


@router.post("/databases/{code}/comments", status_code=201, summary="Comment on a field (IT unit)")
def comment_database(code: str, body: CommentIn, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    note = service.add_comment(db, actor, code, body.field, body.comment)
    db.commit()
    return {"field": note.field, "comment": note.comment, "author": note.author_label,
            "created_at": note.created_at.isoformat(), "resolved": False}


@router.post("/databases/{code}/request-changes", response_model=EntryOut, summary="Send back to the agency")
def request_changes(code: str, body: NoteIn, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    database = service.request_changes(db, actor, code, body.note)
    db.commit()
    return service.to_dict(db, database)


@router.post("/databases/{code}/accept", response_model=EntryOut, summary="Accept and publish (IT unit)")
def accept_database(code: str, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    database = service.accept(db, actor, code)
    db.commit()
    return service.to_dict(db, database)


@router.post("/databases/{code}/withdraw", response_model=EntryOut, summary="Withdraw from the catalog")
def withdraw_database(code: str, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    database = service.withdraw(db, actor, code)
    db.commit()
    return service.to_dict(db, database)


@router.get("/databases/{code}/history", response_model=list[HistoryOut], summary="Change history (staff)")
def database_history(code: str, db: DbDep, actor: LoginDep) -> list[dict[str, Any]]:
    return [
        {"at": e.at.isoformat(), "actor": e.actor_label, "tag": e.tag, "changes": e.changes}
        for e in service.entry_history(db, actor, code)
    ]


# -- the workflow as a whole ---------------------------------------------------------------


@router.get("/catalog/review-queue", response_model=QueueOut, summary="What waits on whom")
def review_queue(db: DbDep, actor: LoginDep) -> dict[str, Any]:
    queue = service.review_queue(db, actor)

    def row(r: service.EntryRow) -> dict[str, Any]:
        out = vars(r).copy()
        out["updated_at"] = r.updated_at.isoformat()
        out["submitted_at"] = r.submitted_at.isoformat() if r.submitted_at else None
        return out

    return {
        "waiting_on_it_unit": [row(r) for r in queue.waiting_on_it_unit],
        "waiting_on_agency": [row(r) for r in queue.waiting_on_agency],
        "drafts": [row(r) for r in queue.drafts],
    }


@router.get("/catalog/issues", response_model=Page[IssueOut], summary="Issued versions of the catalog")
def list_issues(db: DbDep, actor: ActorDep) -> Page[IssueOut]:
    items = [IssueOut(**issues.issue_summary(i)) for i in issues.list_issues(db, actor)]
    return Page(items=items, total=len(items), limit=max(len(items), 1), offset=0)


@router.post("/catalog/issues", response_model=IssueOut, status_code=201, summary="Record an issued version")
def issue_catalog(body: IssueIn, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    issue = issues.issue_catalog(db, actor, issues.IssueInput(**body.model_dump()))
    db.commit()
    return issues.issue_summary(issue)


@router.get("/catalog/issues/{ident}", response_model=IssueDetailOut, summary="One issued version (number or UUID)")
def get_issue(ident: str, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    issue = issues.get_issue(db, actor, ident)
    return {**issues.issue_summary(issue), "entries": list(issue.snapshot.get("entries", []))}


@router.get("/catalog/diff", response_model=DiffOut, summary="Differences between two versions")
def catalog_diff(
    db: DbDep,
    actor: ActorDep,
    from_: int | None = Query(None, alias="from", ge=1, description="Issue number (default: the latest)"),
    to: int | None = Query(None, ge=1, description="Issue number (default: the catalog now)"),
) -> dict[str, Any]:
    return issues.diff(db, actor, from_, to)


@router.get("/catalog/needs-reissue", response_model=ReissueOut, summary="Changes since the latest issue")
def needs_reissue(db: DbDep, actor: ActorDep) -> dict[str, Any]:
    latest = issues.latest_issue(db)
    changes = issues.reissue_changes(db)
    return {
        "latest_issue": latest.number if latest else None,
        "needs_reissue": latest is not None and bool(changes),
        "changes": [c.as_dict() for c in changes],
    }


def _list(db: DbDep, actor: Actor, kind: ListKind) -> dict[str, Any]:
    return lists.derived_list(db, actor, kind).as_dict()


@router.get("/catalog/default-sharing-list", response_model=DerivedListOut, summary="Default-sharing list (Art. 34)")
def default_sharing_list(db: DbDep, actor: ActorDep) -> dict[str, Any]:
    return _list(db, actor, ListKind.DEFAULT_SHARING)


@router.get("/catalog/open-data-list", response_model=DerivedListOut, summary="Open-data list")
def open_data_list(db: DbDep, actor: ActorDep) -> dict[str, Any]:
    return _list(db, actor, ListKind.OPEN_DATA)


@router.post("/catalog/default-sharing-list/reviews", response_model=DerivedListOut, status_code=201,
             summary="Record a review of the default-sharing list")
def review_default_sharing_list(body: ListReviewIn, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    lists.review_list(db, actor, ListKind.DEFAULT_SHARING, body.reviewed_on, body.decision_reference, body.note)
    db.commit()
    return _list(db, actor, ListKind.DEFAULT_SHARING)


@router.post("/catalog/open-data-list/reviews", response_model=DerivedListOut, status_code=201,
             summary="Record a review of the open-data list")
def review_open_data_list(body: ListReviewIn, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    lists.review_list(db, actor, ListKind.OPEN_DATA, body.reviewed_on, body.decision_reference, body.note)
    db.commit()
    return _list(db, actor, ListKind.OPEN_DATA)


# -- code lists ------------------------------------------------------------------------------


@router.get("/code-lists", response_model=Page[CodeListSummary], summary="Shared code lists")
def list_code_lists(db: DbDep, actor: ActorDep) -> Page[CodeListSummary]:
    items = [CodeListSummary(**c) for c in codelists.list_code_lists(db, actor)]
    return Page(items=items, total=len(items), limit=max(len(items), 1), offset=0)


@router.post("/code-lists", response_model=CodeListSummary, status_code=201, summary="Register a code list")
def create_code_list(body: CodeListIn, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    created = codelists.create_code_list(db, actor, codelists.CodeListInput(**body.model_dump()))
    db.commit()
    return next(c for c in codelists.list_code_lists(db, actor) if c["code"] == created.code)


@router.put("/code-lists/{code}", response_model=CodeListSummary, summary="Change a code list's details")
def update_code_list(code: str, body: CodeListIn, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    if body.code.strip().lower() != code.strip().lower():
        raise Invalid(fields={"code": [Msg("The code cannot be changed.")]})
    changed = codelists.update_code_list(db, actor, code, codelists.CodeListInput(**body.model_dump()))
    db.commit()
    return next(c for c in codelists.list_code_lists(db, actor) if c["code"] == changed.code)


@router.get("/code-lists/{code}", summary="A code list with the items of one version")
def get_code_list(
    code: str, db: DbDep, actor: ActorDep, version: str | None = Query(None, max_length=40)
) -> dict[str, Any]:
    return codelists.get_code_list(db, actor, code, version)


@router.post("/code-lists/{code}/versions", status_code=201, summary="Import a version from CSV or XLSX")
async def import_code_list_version(
    code: str,
    db: DbDep,
    actor: LoginDep,
    file: UploadFile = File(...),
    version: str = Form(..., max_length=40),
    source: str = Form("", max_length=2000),
) -> dict[str, Any]:
    content = await file.read(codelists.MAX_BYTES + 1)
    items = codelists.read_file(file.filename or "", content)
    codelists.import_version(db, actor, code, version, items, source=source)
    db.commit()
    return codelists.get_code_list(db, actor, code, version)


# -- information systems -------------------------------------------------------------------


def _system_input(body: SystemIn, code: str | None = None) -> systems.SystemInput:
    values = body.model_dump()
    values["code"] = code or body.code or ""
    return systems.SystemInput(**values)


@router.get("/information-systems", response_model=Page[SystemOut], summary="Information systems")
def list_systems(
    db: DbDep, actor: ActorDep, agency: str | None = Query(None, max_length=40)
) -> Page[SystemOut]:
    items = [SystemOut(**s) for s in systems.list_systems(db, actor, agency)]
    return Page(items=items, total=len(items), limit=max(len(items), 1), offset=0)


@router.post("/information-systems", response_model=SystemOut, status_code=201, summary="Register a system")
def create_system(body: SystemIn, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    if not body.code:
        raise Invalid(fields={"code": [Msg("This field is required.")]})
    system = systems.save_system(db, actor, _system_input(body), mode="create")
    db.commit()
    return systems.get_system(db, actor, system.code)


@router.get("/information-systems/{code}", response_model=SystemOut, summary="One information system")
def get_system(code: str, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    return systems.get_system(db, actor, code)


@router.put("/information-systems/{code}", response_model=SystemOut, summary="Change a system")
def update_system(code: str, body: SystemIn, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    if body.code and body.code.strip().upper() != code.strip().upper():
        raise Invalid(fields={"code": [Msg("The code cannot be changed.")]})
    system = systems.save_system(db, actor, _system_input(body, code), mode="update")
    db.commit()
    return systems.get_system(db, actor, system.code)


@router.delete("/information-systems/{code}", status_code=204, summary="Delete an unused system")
def delete_system(code: str, db: DbDep, actor: LoginDep) -> Response:
    systems.delete_system(db, actor, code)
    db.commit()
    return Response(status_code=204)
