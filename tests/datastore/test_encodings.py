# SPDX-License-Identifier: AGPL-3.0-or-later
"""Legacy Vietnamese encodings: detection by scoring, conversion to NFC, round trips."""

from __future__ import annotations

import unicodedata

import pytest

from dulieuso.datastore import encodings

WORDS = ["Cơ sở dữ liệu", "Tiếng Việt", "Sở Thông tin và Truyền thông"]
SENTENCES = WORDS + [
    "Nguyễn Thị ánh Tuyết, Lò Văn Hùng; Đường Điện Biên Phủ",
    "Khuyến khích người dân quyết định giữ gìn",
    "Huyện Mường Tè, xã Ka Lăng, bản Nậm Củm",
]


class TestReadmeTestWords:
    """The table in shared/data/README.md §6."""

    def test_tcvn3_bytes_of_the_readme_decode(self):
        raw = bytes.fromhex("43AC2073EB2064F7206C69D675")
        decoded = encodings.decode(raw)
        assert decoded.text == "Cơ sở dữ liệu"
        assert decoded.encoding == encodings.TCVN3

    @pytest.mark.parametrize(
        ("text", "encoding", "shown"),
        [
            ("Cơ sở dữ liệu", encodings.TCVN3, "C¬ së d÷ liÖu"),
            ("Cơ sở dữ liệu", encodings.VNI, "Cô sôû döõ lieäu"),
            ("Tiếng Việt", encodings.TCVN3, "TiÕng ViÖt"),
            ("Tiếng Việt", encodings.VNI, "Tieáng Vieät"),
            ("Sở Thông tin và Truyền thông", encodings.TCVN3, "Së Th«ng tin vµ TruyÒn th«ng"),
        ],
    )
    def test_encoded_bytes_look_as_the_readme_shows(self, text, encoding, shown):
        raw = encodings.encode(text, encoding)
        assert raw.decode("cp1252" if encoding == encodings.VNI else "latin-1") == shown
        assert encodings.decode(raw).text == text


@pytest.mark.parametrize("encoding", [encodings.TCVN3, encodings.VNI, encodings.CP1258])
@pytest.mark.parametrize("text", SENTENCES)
def test_round_trip_is_detected_and_exact(encoding, text):
    decoded = encodings.decode(encodings.encode(text, encoding))
    assert decoded.encoding == encoding
    assert decoded.text == text
    assert unicodedata.is_normalized("NFC", decoded.text)


def test_windows_1258_combining_tones_become_nfc():
    raw = encodings.encode("Tiếng Việt", encodings.CP1258)
    assert b"\xec" in raw  # the acute tone as a separate combining byte
    text = encodings.decode(raw).text
    assert text == "Tiếng Việt" and len(text) == len("Tiếng Việt")


def test_notice_names_the_converted_encoding():
    notice = encodings.decode(encodings.encode("Dữ liệu", encodings.TCVN3)).notice
    assert notice is not None
    assert notice.vi == "Đã chuyển mã từ TCVN3 sang Unicode"
    assert notice.en == "Converted from TCVN3 to Unicode"


def test_utf8_needs_no_notice_and_bom_is_reported():
    assert encodings.decode("Lai Châu".encode()).notice is None
    decoded = encodings.decode(b"\xef\xbb\xbf" + "Lai Châu".encode())
    assert decoded.text == "Lai Châu" and decoded.notice is not None


def test_utf8_cut_inside_a_character_is_still_utf8():
    data = "Điện Biên".encode()
    assert encodings.detect(data[:-1]).encoding == encodings.UTF8


def test_bytes_that_are_not_vietnamese_in_any_encoding_are_refused():
    with pytest.raises(encodings.UnknownEncoding):
        encodings.detect(bytes(range(0x80, 0x100)) * 3)


def test_tcvn3_writes_upper_case_toned_letters_as_lower_case():
    assert encodings.decode(encodings.encode("Ủy ban", encodings.TCVN3)).text == "ủy ban"


def test_transcoding_in_chunks_keeps_two_byte_letters_whole(tmp_path):
    text = ("Người dân Lai Châu đọc dữ liệu mở\n" * 5000)
    source = tmp_path / "vni.csv"
    source.write_bytes(encodings.encode(text, encodings.VNI))
    target = tmp_path / "utf8.csv"
    with source.open("rb") as handle:
        chunks = list(encodings.iter_transcoded(handle, encodings.VNI, chunk_size=1000))
    assert len(chunks) > 10
    encodings.transcode_file(source, target, encodings.VNI)
    assert target.read_text(encoding="utf-8") == text
