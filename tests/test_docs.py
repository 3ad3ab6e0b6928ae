"""The documentation lists every setting and every audit tag (it cannot drift)."""

from pathlib import Path

from dulieuso.audit.service import EventTag
from dulieuso.config import Settings

DOCS = Path(__file__).parent.parent / "docs"


def test_every_setting_is_documented():
    text = (DOCS / "operations.md").read_text()
    missing = [name for name in Settings.model_fields if f"`DULIEUSO_{name.upper()}`" not in text]
    assert not missing


def test_every_audit_tag_is_documented():
    text = (DOCS / "audit.md").read_text()
    missing = [tag.value for tag in EventTag if f"`{tag.value}`" not in text]
    assert not missing
