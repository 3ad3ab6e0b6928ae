"""The whole Lai Châu demo loads, and loading it again changes nothing."""

from sqlalchemy import func, select

from dulieuso import demo
from dulieuso.audit.models import AuditEvent
from dulieuso.opendata.voice_models import ListReview


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
    assert first["open_data_plan"] == {"phases": 2, "plan_items": 3, "data_requests": 2}
    events = db.scalar(select(func.count()).select_from(AuditEvent))

    again = demo.load(db, settings)
    db.commit()
    assert _nothing_new(again), again
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == events
    assert db.scalars(select(ListReview)).all() == []
