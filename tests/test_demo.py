"""The whole Lai Châu demo loads, and loading it again changes nothing."""

from sqlalchemy import func, select

from dulieuso import demo
from dulieuso.audit.models import AuditEvent
from dulieuso.opendata.voice_models import ListIssue, ListReview
from dulieuso.policy.models import Policy


def _nothing_new(counts):
    if isinstance(counts, dict):
        return all(_nothing_new(v) for v in counts.values())
    return counts == 0


def test_demo_loads_once_and_is_idempotent(db, settings):
    first = demo.load(db, settings)
    db.commit()
    assert first["agencies"] > 60
    assert first["catalog"]["databases"] >= 25
    assert first["open_data"]["published"] >= 8
    assert first["sharing"]["published"] == 3
    # The plan and its issued list load with the open data, before it is published.
    assert first["open_data"]["list"] == {"phases": 2, "plan_items": 13, "list_issues": 1}
    assert first["open_data_plan"] == {"phases": 0, "plan_items": 0, "list_issues": 0, "data_requests": 2}
    assert db.scalar(select(func.count()).select_from(ListIssue)) == 1
    assert db.get(Policy, "open_data_issued_list_required").value == 1  # the gate is on, and everything published
    events = db.scalar(select(func.count()).select_from(AuditEvent))

    again = demo.load(db, settings)
    db.commit()
    assert _nothing_new(again), again
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == events
    assert db.scalars(select(ListReview)).all() == []
