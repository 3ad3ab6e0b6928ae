"""The documentation lists every setting and every audit tag (it cannot drift)."""

from pathlib import Path

from dulieuso.audit.service import all_tags
import dulieuso.models  # noqa: F401  (imports every domain, registering its tags)
from dulieuso.config import Settings

DOCS = Path(__file__).parent.parent / "docs"


def test_every_setting_is_documented():
    text = (DOCS / "operations.md").read_text()
    missing = [name for name in Settings.model_fields if f"`DULIEUSO_{name.upper()}`" not in text]
    assert not missing


def test_every_audit_tag_is_documented():
    text = "\n".join(path.read_text() for path in DOCS.glob("*.md"))
    missing = [tag for tag in all_tags() if f"`{tag}`" not in text]
    assert not missing
