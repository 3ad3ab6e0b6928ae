"""Pages: the audit trail for the platform administrator, with filters and CSV export."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from dulieuso.audit import service
from dulieuso.errors import Invalid
from dulieuso.web.deps import DbDep, LoginDep
from dulieuso.web.templating import render

router = APIRouter(include_in_schema=False)


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(fields={"date": [Invalid.default_message]}) from None


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    db: DbDep,
    actor: LoginDep,
    by: str | None = None,
    tag: str | None = None,
    subject_type: str | None = None,
    since: str | None = None,
    until: str | None = None,
    offset: int = 0,
) -> HTMLResponse:
    query = service.AuditQuery(
        actor=by or None, tag=tag or None, subject_type=subject_type or None,
        since=_date(since), until=_date(until), limit=50, offset=max(0, offset),
    )
    events, total = service.search(db, actor, query)
    filters = {k: v for k, v in {"by": by, "tag": tag, "subject_type": subject_type, "since": since, "until": until}.items() if v}
    return render(
        request,
        "audit/list.html",
        {
            "events": events,
            "total": total,
            "offset": query.offset,
            "limit": query.limit,
            "filters": filters,
            "query_string": urlencode(filters),
            "tags": service.all_tags(),
        },
        json_alternate="/api/v1/audit?" + urlencode(filters),
    )
