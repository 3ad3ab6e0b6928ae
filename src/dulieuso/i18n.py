"""Translations: Babel message catalogues, Vietnamese by default, English available.

Source strings (msgids) are English; each domain keeps its Vietnamese catalogue in
``<domain>/locale/vi.po``. All catalogues are merged at start-up. ``Msg`` is a lazy
message that services raise and that is rendered in the reader's language.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from gettext import GNUTranslations, NullTranslations
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("vi", "en")
PACKAGE_DIR = Path(__file__).parent


def catalogue_files(lang: str) -> list[Path]:
    # <domain>/locale/vi.po, and catalogues of a domain's parts: <domain>/locale/<part>/vi.po
    # or <domain>/<part>/locale/vi.po.
    return sorted(set(PACKAGE_DIR.glob(f"**/locale/**/{lang}.po")))


@lru_cache
def load_catalogue(lang: str) -> Catalog:
    merged = Catalog(locale=lang)
    for path in catalogue_files(lang):
        with path.open("rb") as handle:
            part = read_po(handle, locale=lang)
        for message in part:
            if message.id and message.string:
                merged[message.id] = message
    return merged


@lru_cache
def translations(lang: str) -> NullTranslations:
    if lang == "en":
        return NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, load_catalogue(lang))
    buffer.seek(0)
    return GNUTranslations(buffer)


def gettext(message: str, lang: str, **params: Any) -> str:
    text = translations(lang).gettext(message)
    return text.format(**params) if params else text


def ngettext(singular: str, plural: str, n: int, lang: str, **params: Any) -> str:
    text = translations(lang).ngettext(singular, plural, n)
    return text.format(n=n, **params)


@dataclass(frozen=True)
class Msg:
    """A message to show a person, kept untranslated until we know their language.

    ``Msg("Agency {code} not found", code="X")`` renders as
    ``"Không tìm thấy cơ quan X"`` in Vietnamese.
    """

    text: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __init__(self, text: str, **params: Any) -> None:
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "params", params)

    def render(self, lang: str) -> str:
        rendered = {
            key: value.render(lang) if isinstance(value, Msg) else value
            for key, value in self.params.items()
        }
        return gettext(self.text, lang, **rendered)

    @property
    def vi(self) -> str:
        return self.render("vi")

    @property
    def en(self) -> str:
        return self.render("en")

    def __str__(self) -> str:
        return self.vi


def N_(text: str) -> str:
    """Mark ``text`` for extraction without translating it now (a label in a table)."""
    return text


def pick_language(requested: str | None, default: str) -> str:
    if requested:
        for part in requested.replace(" ", "").split(","):
            code = part.split(";")[0].split("-")[0].lower()
            if code in LANGUAGES:
                return code
    return default
