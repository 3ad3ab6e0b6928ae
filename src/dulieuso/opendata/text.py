# SPDX-License-Identifier: AGPL-3.0-or-later
"""Dataset descriptions (Markdown, sanitised), slugs and search words."""

from __future__ import annotations

import re
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

from dulieuso.vntext import fold, slugify

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$")
_WORD = re.compile(r"[a-z0-9]+")
MAX_TERM = 60

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "strong", "sub", "sup", "table", "tbody",
    "td", "th", "thead", "tr", "ul",
}


@lru_cache
def _markdown() -> MarkdownIt:
    # "js-default": CommonMark with raw HTML switched off, plus tables and strikethrough.
    return MarkdownIt("js-default").enable("table")


def render_markdown(source: str | None) -> Markup:
    """Markdown → HTML that is safe to put in a page: raw HTML is escaped by the parser and
    the output goes through nh3 (an allow-list of tags; links get rel=noopener)."""
    if not source:
        return Markup("")
    html = _markdown().render(source)
    clean = nh3.clean(
        html,
        tags=_TAGS,
        attributes={"a": {"href", "title"}, "td": {"align"}, "th": {"align"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)


def plain_text(source: str | None, limit: int = 300) -> str:
    """A short plain-text summary of a Markdown description (for lists and meta tags)."""
    text = nh3.clean(_markdown().render(source or ""), tags=set())
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def make_slug(title: str) -> str:
    """"Danh sách trường học" → ``danh-sach-truong-hoc``; never empty."""
    return slugify(title, max_length=90) or "bo-du-lieu"


def words(text: str | None) -> list[str]:
    """Folded words of ``text``: diacritics and case removed."""
    return [w[:MAX_TERM] for w in _WORD.findall(fold(text))]
