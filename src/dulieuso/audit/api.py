"""JSON routes for the audit trail (platform administrator)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from dulieuso.audit import service
from dulieuso.audit.schemas import AuditEventPublic
from dulieuso.web.deps import DbDep, LoginDep
from dulieuso.web.schemas import ERROR_RESPONSES, Page

router = APIRouter(tags=["audit"], responses=ERROR_RESPONSES)


def _query(
    actor: str | None, tag: str | None, subject_type: str | None, subject_id: str | None,
    since: date | None, until: date | None, limit: int = 50, offset: int = 0,
) -> service.AuditQuery:
    return service.AuditQuery(
        actor=actor, tag=tag, subject_type=subject_type, subject_id=subject_id,
        since=since, until=until, limit=limit, offset=offset,
    )


@router.get("/audit", response_model=Page[AuditEventPublic], summary="Search the audit trail")
def search(
    db: DbDep,
    actor: LoginDep,
    by: str | None = None,
    tag: str | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[AuditEventPublic]:
    query = _query(by, tag, subject_type, subject_id, since, until, limit, offset)
    events, total = service.search(db, actor, query)
    return Page(items=[AuditEventPublic.model_validate(e) for e in events], total=total, limit=limit, offset=offset)


@router.get("/audit/export.csv", summary="Export the audit trail as CSV", response_class=StreamingResponse)
def export(
    db: DbDep,
    actor: LoginDep,
    by: str | None = None,
    tag: str | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> StreamingResponse:
    rows = service.export_csv(db, actor, _query(by, tag, subject_type, subject_id, since, until))
    first = next(rows)  # permission is checked before the response starts
    def stream():  # type: ignore[no-untyped-def]
        yield first
        yield from rows

    return StreamingResponse(
        stream(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="nhat-ky-thay-doi.csv"'},
    )
