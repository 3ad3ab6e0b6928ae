# SPDX-License-Identifier: AGPL-3.0-or-later
"""Text encodings of the files people upload: UTF-8, Windows-1258 and the legacy
Vietnamese font encodings TCVN3 (ABC) and VNI-Windows.

Everything comes out as Unicode NFC, with a notice saying what was converted
("Đã chuyển mã từ TCVN3 sang Unicode"). Detection does not trust a single byte pattern:
each candidate decoding is scored by how many of its words are valid Vietnamese
syllables, and the best one wins.

The TCVN3 and VNI tables are ``data/vn-legacy-encodings.csv`` (from Unikey's tables, see
``shared/data/README.md`` §6).
"""

from __future__ import annotations

import codecs
import csv
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Final

from dulieuso.i18n import Msg

DATA_DIR = Path(__file__).parent / "data"

UTF8: Final = "utf-8"
UTF8_BOM: Final = "utf-8-sig"
UTF16: Final = "utf-16"
CP1258: Final = "cp1258"
TCVN3: Final = "tcvn3"
VNI: Final = "vni"

#: How each encoding is named to people.
DISPLAY_NAMES: Final = {
    UTF8: "UTF-8",
    UTF8_BOM: "UTF-8 (BOM)",
    UTF16: "UTF-16",
    CP1258: "Windows-1258",
    TCVN3: "TCVN3",
    VNI: "VNI",
}

LEGACY: Final = (CP1258, TCVN3, VNI)


class UnknownEncoding(ValueError):
    """The bytes are not text in any encoding we know."""


@dataclass(frozen=True)
class Detection:
    """Which encoding the bytes are in, and whether the text must be converted."""

    encoding: str
    score: float = 0.0

    @property
    def needs_transcoding(self) -> bool:
        """True when the bytes are not plain UTF-8 (with or without BOM)."""
        return self.encoding not in (UTF8, UTF8_BOM)

    @property
    def notice(self) -> Msg | None:
        """The notice to show the uploader, or None for plain UTF-8."""
        if self.encoding == UTF8:
            return None
        if self.encoding == UTF8_BOM:
            return Msg("The file starts with a UTF-8 byte order mark (BOM); it was removed.")
        return Msg(
            "Converted from {encoding} to Unicode", encoding=DISPLAY_NAMES[self.encoding]
        )


@dataclass(frozen=True)
class Decoded:
    text: str
    detection: Detection

    @property
    def encoding(self) -> str:
        return self.detection.encoding

    @property
    def notice(self) -> Msg | None:
        return self.detection.notice


# --------------------------------------------------------------------------- tables


@lru_cache
def _legacy_tables() -> dict[str, dict[bytes, str]]:
    tables: dict[str, dict[bytes, str]] = {TCVN3: {}, VNI: {}}
    with (DATA_DIR / "vn-legacy-encodings.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            name = TCVN3 if row["encoding"] == "TCVN3" else VNI
            tables[name][bytes.fromhex(row["bytes_hex"])] = unicodedata.normalize(
                "NFC", row["unicode_char"]
            )
    return tables


@lru_cache
def _tcvn3_decoding_table() -> str:
    """A 256-character charmap: ASCII as itself, the ABC letters, U+FFFD elsewhere."""
    chars = [chr(i) if i < 0x80 else "\ufffd" for i in range(256)]
    for raw, char in _legacy_tables()[TCVN3].items():
        chars[raw[0]] = char
    return "".join(chars)


@lru_cache
def _vni_decoder() -> tuple[re.Pattern[str], dict[str, str]]:
    """VNI mixes two-byte (letter + mark) and one-byte letters; decode through Latin-1
    and replace the longest sequences first."""
    mapping = {raw.decode("latin-1"): char for raw, char in _legacy_tables()[VNI].items()}
    keys = sorted(mapping, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(k) for k in keys) + "|[\x80-\xff]")
    return pattern, mapping


@lru_cache
def _encoders() -> dict[str, dict[str, bytes]]:
    result: dict[str, dict[str, bytes]] = {}
    for name, table in _legacy_tables().items():
        reverse: dict[str, bytes] = {}
        for raw, char in table.items():
            reverse.setdefault(char, raw)
        result[name] = reverse
    return result


# --------------------------------------------------------------------------- decoding


def _decode_tcvn3(data: bytes) -> str:
    return codecs.charmap_decode(data, "strict", _tcvn3_decoding_table())[0]


def _decode_vni(data: bytes) -> str:
    pattern, mapping = _vni_decoder()
    return pattern.sub(lambda m: mapping.get(m.group(0), "\ufffd"), data.decode("latin-1"))


def _decode_cp1258(data: bytes) -> str:
    return data.decode(CP1258, errors="replace")


_DECODERS: Final[dict[str, Callable[[bytes], str]]] = {
    UTF8: lambda data: data.decode(UTF8),
    UTF8_BOM: lambda data: data.decode(UTF8_BOM),
    UTF16: lambda data: data.decode(UTF16),
    CP1258: _decode_cp1258,
    TCVN3: _decode_tcvn3,
    VNI: _decode_vni,
}


def decode_as(data: bytes, encoding: str) -> str:
    """Decode ``data`` from ``encoding`` (one of this module's names) to NFC text."""
    try:
        decoder = _DECODERS[encoding]
    except KeyError:
        raise UnknownEncoding(encoding) from None
    return unicodedata.normalize("NFC", decoder(data))


def encode(text: str, encoding: str) -> bytes:
    """Encode Unicode ``text`` into ``encoding``: the inverse of :func:`decode_as`, used to
    make test files and, if ever needed, legacy exports.

    TCVN3 (ABC) has no upper-case letters with tone marks; they are written as the lower-case
    byte, as .VnTimeH fonts do. A character the encoding cannot hold raises ``ValueError``.
    """
    text = unicodedata.normalize("NFC", text)
    if encoding in (UTF8, UTF8_BOM, UTF16):
        return text.encode(encoding)
    if encoding == CP1258:
        return _encode_cp1258(text)
    table = _encoders()[encoding]
    out = bytearray()
    for char in text:
        if ord(char) < 0x80:
            out += char.encode("ascii")
        elif char in table:
            out += table[char]
        elif encoding == TCVN3 and char.lower() in table:
            out += table[char.lower()]
        else:
            raise ValueError(f"{char!r} cannot be written in {DISPLAY_NAMES[encoding]}")
    return bytes(out)


def _encode_cp1258(text: str) -> bytes:
    out = bytearray()
    for char in text:
        try:
            out += char.encode(CP1258)
            continue
        except UnicodeEncodeError:
            pass
        # Windows-1258 keeps the tone as a combining mark after the (possibly
        # modified) vowel: split the tone off and write base + mark.
        decomposed = unicodedata.normalize("NFD", char)
        tones = "".join(c for c in decomposed if c in _TONE_MARKS)
        base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))
        out += base.encode(CP1258) + tones.encode(CP1258)
    return bytes(out)


# --------------------------------------------------------------------------- scoring

_TONE_MARKS: Final = "\u0300\u0301\u0303\u0309\u0323"
_VI_LETTERS: Final = frozenset(
    unicodedata.normalize("NFC", base + tone)
    for base in "aăâeêioôơuưyAĂÂEÊIOÔƠUƯY"
    for tone in ("",) + tuple(_TONE_MARKS)
) | frozenset("bcdđghklmnpqrstvxfjwzBCDĐGHKLMNPQRSTVXFJWZ")
# Vowel nuclei of Vietnamese syllables, tone marks removed (longest first).
_NUCLEI: Final = (
    "iêu oai oay oao oeo uây uôi uya uyê uyu ươi ươu yêu "
    "ai ao au ay âu ây eo êu ia iê iu oa oă oe oi ôi ơi oo ua uâ uê ui uô uơ uy ưa ưi ươ ưu yê "
    "a ă â e ê i o ô ơ u ư y"
).split()
_SYLLABLE: Final = re.compile(
    r"(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnpqrstvx])?"
    r"(" + "|".join(_NUCLEI) + r")"
    r"(ch|ng|nh|[cmnpt])?"
)
_WORD: Final = re.compile(r"[^\W\d_]+")


def _is_syllable(word: str) -> bool:
    decomposed = unicodedata.normalize("NFD", word.lower())
    if sum(1 for c in decomposed if c in _TONE_MARKS) > 1:
        return False
    base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))
    return _SYLLABLE.fullmatch(base) is not None


def vietnamese_score(text: str) -> float:
    """How Vietnamese ``text`` looks: +1 per valid syllable with diacritics, −2 per word
    with letters that are not Vietnamese or that is not a possible syllable, −3 per
    undecodable character. Plain ASCII words are neutral."""
    score = -3.0 * text.count("\ufffd")
    for word in _WORD.findall(text):
        if word.isascii():
            continue
        if all(c in _VI_LETTERS for c in word) and _is_syllable(word):
            score += 1
        else:
            score -= 2
    # Control characters other than tab/CR/LF never appear in real text files.
    score -= 3.0 * sum(1 for c in text if ord(c) < 0x20 and c not in "\t\r\n")
    return score


def _valid_utf8_prefix(data: bytes) -> bool:
    """True when ``data`` is UTF-8 except possibly for a character cut at the end."""
    try:
        data.decode(UTF8)
        return True
    except UnicodeDecodeError as error:
        return error.reason == "unexpected end of data" and error.start >= len(data) - 3


def detect(sample: bytes) -> Detection:
    """Detect the encoding of ``sample`` (the head of a file; a character cut at its end is
    fine). Raises :class:`UnknownEncoding` when no candidate produces plausible text."""
    if sample.startswith(codecs.BOM_UTF8):
        return Detection(UTF8_BOM)
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Detection(UTF16)
    if _valid_utf8_prefix(sample):
        return Detection(UTF8)
    # Cut at the last line end so that no multi-byte sequence is split.
    cut = sample.rfind(b"\n")
    head = sample[: cut + 1] if cut > 0 else sample
    scored = sorted(
        ((vietnamese_score(decode_as(head, name)), -rank, name) for rank, name in enumerate(LEGACY)),
        reverse=True,
    )
    best_score, _, best = scored[0]
    if best_score <= 0:
        raise UnknownEncoding("no candidate decoding looks like Vietnamese text")
    return Detection(best, best_score)


def decode(data: bytes, encoding: str | None = None) -> Decoded:
    """Decode a whole byte string (detecting the encoding unless given) to NFC text."""
    detection = Detection(encoding) if encoding else detect(data[: 1 << 20])
    return Decoded(decode_as(data, detection.encoding), detection)


def iter_transcoded(
    handle: BinaryIO, encoding: str, chunk_size: int = 4 << 20
) -> Iterator[bytes]:
    """Read ``handle`` in ``encoding`` and yield UTF-8 (NFC) chunks.

    Chunks are cut after a line end, so that no two-byte VNI letter, combining
    Windows-1258 tone mark or UTF-8 sequence is split between two chunks."""
    rest = b""
    first = True
    while True:
        block = handle.read(chunk_size)
        data = rest + block
        if not block:
            if data:
                yield _transcode_chunk(data, encoding, first)
            return
        cut = data.rfind(b"\n")
        if cut < 0:
            rest = data
            continue
        piece, rest = data[: cut + 1], data[cut + 1 :]
        yield _transcode_chunk(piece, encoding, first)
        first = False


def _transcode_chunk(data: bytes, encoding: str, first: bool) -> bytes:
    if encoding == UTF16:
        raise UnknownEncoding("UTF-16 is transcoded whole, not in chunks")
    if encoding == UTF8_BOM and not first:
        encoding = UTF8
    return decode_as(data, encoding).encode(UTF8)


def transcode_file(source: Path, target: Path, encoding: str) -> None:
    """Write ``source`` (in ``encoding``) to ``target`` as UTF-8 NFC without BOM."""
    with source.open("rb") as src, target.open("wb") as dst:
        if encoding == UTF16:
            # UTF-16 line ends are two bytes; decode whole (uploads are size-limited).
            dst.write(decode_as(src.read(), UTF16).encode(UTF8))
            return
        for chunk in iter_transcoded(src, encoding):
            dst.write(chunk)
