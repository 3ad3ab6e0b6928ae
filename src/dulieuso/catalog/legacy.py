# SPDX-License-Identifier: AGPL-3.0-or-later
"""Text typed in the legacy Vietnamese font encodings TCVN3 (ABC, .VnTime) and VNI-WIN.

Old spreadsheets still circulate with text typed in a ``.VnTime`` or ``VNI-Times`` font:
the cell holds Latin-1 characters that only *look* Vietnamese in that font, so
"Cơ sở dữ liệu" arrives as "C¬ së d÷ liÖu" (TCVN3) or "Cô sôû döõ lieäu" (VNI).

``detect(text)`` says whether a cell looks like that and what it most likely meant.
The spreadsheet import **refuses** such cells with a located error that shows the
suggested Unicode text; it does not convert them silently, because:

* the catalog is the appendix of an official decision, so its text must be what the
  agency checked, not our guess;
* the guess can be wrong: ABC has no codes for upper-case toned letters (``.VnTimeH``
  shows the lower-case codes as capitals), and real text with symbols (``°``, ``±``)
  can resemble legacy bytes;
* the fix is one step for the agency (Unikey › Công cụ chuyển mã, or re-typing).

The tables come from ``shared/data/vn-legacy-encodings.csv`` (Unikey's tables, cross-
checked); only non-ASCII bytes are listed, ASCII maps to itself. All legacy bytes are
0xA1–0xFE, where Windows-1252 and Latin-1 agree, so a byte *b* appears as ``chr(b)``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# TCVN3 (ABC): one byte per letter. Sources and targets in the same order.
_TCVN3_SOURCE = (
    "¡¢£¤¥¦§¨©ª«¬\xad®µ¶·¸¹»¼½¾ÆÇÈÉÊËÌÎÏÐÑÒÓÔÕÖ×ØÜÝÞßáâãäåæçèéêëìíîïñòóôõö÷øùúûüýþ"
)
_TCVN3_TARGET = (
    "ĂÂÊÔƠƯĐăâêôơưđàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ"
)
_TCVN3 = {ord(s): t for s, t in zip(_TCVN3_SOURCE, _TCVN3_TARGET, strict=True)}

# VNI-WIN: a base letter plus a mark byte, or one byte for a few letters.
_VNI_SOURCE = (
    "AØ aø AÙ aù AÂ aâ AÀ aà AÁ aá AÃ aã AÅ aå AÕ aõ AÊ aê AÈ aè AÉ aé AÜ aü AÚ aú AÛ aû "
    "AÏ aï AÄ aä AË aë EØ eø EÙ eù EÂ eâ EÀ eà EÁ eá EÃ eã EÅ eå EÕ eõ EÛ eû EÏ eï EÄ eä "
    "Ì ì Í í Ó ó Æ æ Ò ò OØ oø OÙ où OÂ oâ OÀ oà OÁ oá OÃ oã OÅ oå OÕ oõ OÛ oû Ô ô ÔØ ôø "
    "ÔÙ ôù ÔÕ ôõ ÔÛ ôû ÔÏ ôï OÏ oï OÄ oä UØ uø UÙ uù UÕ uõ UÛ uû Ö ö ÖØ öø ÖÙ öù ÖÕ öõ "
    "ÖÛ öû ÖÏ öï UÏ uï YØ yø YÙ yù YÕ yõ YÛ yû Î î Ñ ñ"
).split()
_VNI_TARGET = (
    "ÀàÁáÂâẦầẤấẪẫẨẩÃãĂăẰằẮắẴẵẲẳẢảẠạẬậẶặÈèÉéÊêỀềẾếỄễỂểẼẽẺẻẸẹỆệÌìÍíĨĩỈỉỊịÒòÓóÔôỒồỐốỖỗỔổÕõỎỏ"
    "ƠơỜờỚớỠỡỞởỢợỌọỘộÙùÚúŨũỦủƯưỪừỨứỮữỬửỰựỤụỲỳÝýỸỹỶỷỴỵĐđ"
)
_VNI_PAIRS = {s: t for s, t in zip(_VNI_SOURCE, _VNI_TARGET, strict=True) if len(s) == 2}
_VNI_SINGLES = {s: t for s, t in zip(_VNI_SOURCE, _VNI_TARGET, strict=True) if len(s) == 1}

#: Latin-1 letters that proper Unicode Vietnamese text also uses.
_VIETNAMESE_LATIN1 = frozenset("àáâãèéêìíòóôõùúýÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝ")
#: Characters that appear in legacy text but never in Unicode Vietnamese words.
_TELLTALE = (frozenset(_TCVN3_SOURCE) | frozenset("".join(_VNI_SOURCE))) - _VIETNAMESE_LATIN1
_TELLTALE_RE = re.compile("[" + re.escape("".join(sorted(_TELLTALE))) + "]")
_BEYOND_LATIN1 = re.compile(r"[^\x00-\xff]")
_TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")  # huyền, sắc, ngã, hỏi, nặng
_WORD = re.compile(r"[^\s\d.,;:!?()\[\]\"'/\-–—]+")
_VOWELS = "aàảãáạăằẳẵắặâầẩẫấậeèẻẽéẹêềểễếệiìỉĩíịoòỏõóọôồổỗốộơờởỡớợuùủũúụưừửữứựyỳỷỹýỵ"
#: One Vietnamese syllable: onset consonant(s), one to three vowels, final consonant(s).
_SYLLABLE = re.compile(
    rf"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx])?[{_VOWELS}]{{1,3}}(?:ng|nh|ch|[cmnpt])?"
)


@dataclass(frozen=True)
class LegacyText:
    """A cell that looks like legacy-encoded text."""

    encoding: str  # "TCVN3" or "VNI"
    suggestion: str  # the Unicode (NFC) text it most likely meant


def decode_tcvn3(text: str) -> str | None:
    """``text`` read as TCVN3 bytes, or None when it holds a byte TCVN3 does not use."""
    if any(ord(ch) > 127 and ord(ch) not in _TCVN3 for ch in text):
        return None
    return text.translate(_TCVN3)


def decode_vni(text: str) -> str | None:
    """``text`` read as VNI-WIN bytes, or None when it is not valid VNI."""
    out: list[str] = []
    i = 0
    while i < len(text):
        pair = text[i : i + 2]
        if pair in _VNI_PAIRS:
            out.append(_VNI_PAIRS[pair])
            i += 2
            continue
        ch = text[i]
        if ch in _VNI_SINGLES:
            out.append(_VNI_SINGLES[ch])
        elif ord(ch) > 127:
            return None
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _plausible_words(text: str) -> int:
    """How many words of ``text`` read as Vietnamese syllables (at most one tone mark).

    One-letter words are not counted: a lone symbol (``©``, ``½``) decodes to a lone
    vowel, which proves nothing.
    """
    count = 0
    for word in _WORD.findall(text.lower()):
        if len(word) < 2 or not _SYLLABLE.fullmatch(word):
            continue
        tones = sum(1 for ch in unicodedata.normalize("NFD", word) if ch in _TONES)
        if tones <= 1:
            count += 1
    return count


def detect(text: str) -> LegacyText | None:
    """Whether ``text`` looks TCVN3- or VNI-encoded, and what it would read as in Unicode.

    Only text made entirely of Latin-1 characters and holding at least one character
    Unicode Vietnamese never uses (``¬``, ``ë``, ``÷``, ``û``…) is considered; the
    decoding that yields the most plausible Vietnamese words wins, and it must beat the
    text as it stands.
    """
    # Fast exits first: this runs on every text cell of an upload.
    if not text or text.isascii() or _BEYOND_LATIN1.search(text) or not _TELLTALE_RE.search(text):
        return None
    baseline = _plausible_words(text)
    best: LegacyText | None = None
    best_score = baseline
    for encoding, decoder in (("VNI", decode_vni), ("TCVN3", decode_tcvn3)):
        decoded = decoder(text)
        if decoded is None:
            continue
        score = _plausible_words(decoded)
        if score > best_score:
            best, best_score = LegacyText(encoding, unicodedata.normalize("NFC", decoded)), score
    return best
