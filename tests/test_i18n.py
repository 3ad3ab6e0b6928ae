"""Every message shown to people has a Vietnamese translation (Babel extraction)."""

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

import dulieuso
from dulieuso import i18n

PACKAGE = Path(dulieuso.__file__).parent
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "Msg": None, "tr": None}


def extracted() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(PACKAGE), METHODS, keywords=KEYWORDS, options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    ):
        # A plural message is looked up by its singular form.
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, []).append(filename)
    return found


def test_every_message_has_a_vietnamese_translation():
    catalogue = i18n.load_catalogue("vi")
    missing = {m: files for m, files in extracted().items() if not (catalogue.get(m) and catalogue.get(m).string)}
    assert not missing, "untranslated: " + "\n".join(f"{m!r} ({', '.join(sorted(set(f)))})" for m, f in sorted(missing.items()))


def test_extraction_finds_messages():
    assert len(extracted()) > 50


@pytest.mark.parametrize("msgid", ["Log in", "Agencies", "You need to log in."])
def test_core_messages_render_in_vietnamese(msgid):
    assert i18n.gettext(msgid, "vi") != msgid
    assert i18n.gettext(msgid, "en") == msgid
