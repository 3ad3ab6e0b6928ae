# SPDX-License-Identifier: AGPL-3.0-or-later
"""Writing e-mails in both languages: Vietnamese first, English below."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from dulieuso.i18n import Msg


@dataclass(frozen=True)
class Section:
    """The e-mail in one language."""

    lang: str
    heading: str
    paragraphs: Sequence[str]
    link: str | None = None
    link_label: str = ""


@dataclass(frozen=True)
class Letter:
    subject: str
    text: str
    html: str


def section(
    lang: str,
    heading: Msg | str,
    paragraphs: Sequence[Msg | str],
    *,
    link: str | None = None,
    link_label: Msg | None = None,
) -> Section:
    """Render ``heading`` and ``paragraphs`` (messages or ready text) in ``lang``."""

    def text(value: Msg | str) -> str:
        return value.render(lang) if isinstance(value, Msg) else value

    label = link_label or Msg("Open this link:")
    return Section(lang, text(heading), [text(p) for p in paragraphs if text(p)], link, text(label))


def absolute_url(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def compose(vi: Section, en: Section, *, site_name: str, base_url: str) -> Letter:
    """One message with both sections; the subject carries both headings."""
    subject = vi.heading if vi.heading == en.heading else f"{vi.heading} / {en.heading}"
    footer = f"{site_name}\n{base_url}"
    text = "\n\n".join([_text(vi), "-" * 40, _text(en), "-- \n" + footer]) + "\n"
    html = Markup(
        '<!doctype html>\n<html lang="vi"><head><meta charset="utf-8"><title>{subject}</title></head>'
        '<body style="font-family: Arial, sans-serif; line-height: 1.5; color: #1a1a1a">'
        '{vi}<hr style="border: 0; border-top: 1px solid #ccc; margin: 1.5em 0">{en}'
        '<p style="color: #666; font-size: 0.9em">{site}<br><a href="{base}">{base}</a></p>'
        "</body></html>\n"
    ).format(subject=subject, vi=_html(vi), en=_html(en), site=site_name, base=base_url)
    return Letter(subject=subject, text=text, html=str(html))


def _text(part: Section) -> str:
    lines = [part.heading, *part.paragraphs]
    if part.link:
        lines.append(f"{part.link_label}\n{part.link}")
    return "\n\n".join(lines)


def _html(part: Section) -> Markup:
    paragraphs = Markup("").join(
        Markup("<p>{}</p>").format(Markup("<br>").join(escape(line) for line in p.split("\n")))
        for p in part.paragraphs
    )
    link = (
        Markup('<p>{label}<br><a href="{url}">{url}</a></p>').format(
            label=part.link_label, url=part.link
        )
        if part.link
        else Markup("")
    )
    return Markup(
        '<div lang="{lang}"><h1 style="font-size: 1.2em">{heading}</h1>{body}{link}</div>'
    ).format(lang=part.lang, heading=part.heading, body=paragraphs, link=link)
