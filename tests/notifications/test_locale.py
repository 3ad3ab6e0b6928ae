# SPDX-License-Identifier: AGPL-3.0-or-later
"""Every English message of the inbox and of sign-up has a Vietnamese translation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

import dulieuso

PACKAGE = Path(dulieuso.__file__).parent
CATALOGUE = PACKAGE / "notifications" / "locale" / "vi.po"
PYTHON = [*sorted((PACKAGE / "notifications").glob("*.py")), PACKAGE / "auth" / "signup.py"]
TEMPLATES = [
    *sorted((PACKAGE / "notifications" / "templates").glob("*.html")),
    *sorted((PACKAGE / "auth" / "templates").glob("register*.html")),
]
KEYWORDS = {"Msg": None, "_": None, "gettext": None, "tr": None, "N_": None}
JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "trim_blocks": "True", "lstrip_blocks": "True"}
#: Loanwords written the same in Vietnamese (the project's glossary says "e-mail").
SAME_IN_VIETNAMESE = frozenset({"E-mail"})
PLACEHOLDER = re.compile(r"\{\w+\}|%\(\w+\)s")


def _used() -> dict[str, str]:
    """msgid -> where it is used."""
    found: dict[str, str] = {}
    sources = [("python", path, {}) for path in PYTHON] + [
        ("jinja2.ext:babel_extract", path, JINJA_OPTIONS) for path in TEMPLATES
    ]
    for method, path, options in sources:
        for lineno, message, _comments, _context in extract_from_file(
            method, path, keywords=KEYWORDS, options=options
        ):
            msgid = message if isinstance(message, str) else message[0]
            found.setdefault(msgid, f"{path.relative_to(PACKAGE)}:{lineno}")
    return found


def _catalogue() -> dict[str, str]:
    with CATALOGUE.open("rb") as handle:
        return {
            m.id: m.string for m in read_po(handle, locale="vi") if m.id and isinstance(m.id, str)
        }


def test_sources_are_found() -> None:
    assert len(TEMPLATES) == 4 and len(_used()) > 40


@pytest.mark.parametrize(("msgid", "where"), sorted(_used().items()))
def test_message_is_translated_with_the_same_placeholders(msgid: str, where: str) -> None:
    translated = _catalogue().get(msgid)
    assert translated, f"{where}: no Vietnamese for {msgid!r}"
    assert translated != msgid or msgid in SAME_IN_VIETNAMESE
    assert sorted(PLACEHOLDER.findall(translated)) == sorted(PLACEHOLDER.findall(msgid)), where


def test_catalogue_has_no_unused_entries() -> None:
    assert set(_catalogue()) - set(_used()) == set()
