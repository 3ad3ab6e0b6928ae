"""Vietnamese text helpers: diacritic folding for search, transliterated slugs."""

from __future__ import annotations

import re
import unicodedata

_SPECIAL = str.maketrans({"đ": "d", "Đ": "D"})
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def fold(text: str | None) -> str:
    """Lower-case ``text`` and strip Vietnamese diacritics: "Sở Tài chính" -> "so tai chinh"."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFD", text.translate(_SPECIAL))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return " ".join(stripped.lower().split())


def slugify(text: str, max_length: int = 100) -> str:
    """"Danh sách trường học" -> "danh-sach-truong-hoc" (proper transliteration)."""
    slug = _NON_ALNUM.sub("-", fold(text)).strip("-")
    return slug[:max_length].rstrip("-")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)
