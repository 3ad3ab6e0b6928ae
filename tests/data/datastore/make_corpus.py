# SPDX-License-Identifier: AGPL-3.0-or-later
"""Writes the awkward-files corpus the datastore tests load (run it to regenerate).

    .venv/bin/python tests/data/datastore/make_corpus.py

Each file imitates something people really upload to a provincial portal: exports from
old Vietnamese office software (TCVN3, VNI, Windows-1258), Excel "CSV (semicolon)" with
decimal commas, reports with title rows, files cut off by a failed upload, a picture
renamed .csv, a zip bomb, cells that would run as spreadsheet formulas.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parents[2] / "src"))

from dulieuso.datastore.encodings import encode  # noqa: E402

COMMUNES = [
    ("12001", "Phường Tân Phong", "Thành phố Lai Châu", 15234, "12,5"),
    ("12002", "Xã Sìn Hồ", "Huyện Sìn Hồ", 8123, "110,25"),
    ("12003", "Xã Mường Tè", "Huyện Mường Tè", 6045, "1.234,5"),
    ("12004", "Xã Tam Đường", "Huyện Tam Đường", 7310, "98,75"),
    ("12005", "Xã Phong Thổ", "Huyện Phong Thổ", 9802, "143"),
]
LEGACY_TEXT = [
    ("Sở Thông tin và Truyền thông", "Nguyễn Văn Hùng", "Cơ sở dữ liệu dân cư"),
    ("Sở Tài nguyên và Môi trường", "Lò Thị Phương", "Dữ liệu đất đai"),
    ("Ủy ban nhân dân huyện Mường Tè", "Giàng A Páo", "Tiếng Việt có dấu"),
    ("Sở Giáo dục và Đào tạo", "Trần Thị Ánh Tuyết", "Danh sách trường học"),
]


def write(name: str, data: bytes | str) -> None:
    (HERE / name).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def legacy_csv(encoding: str) -> bytes:
    lines = ["co_quan,nguoi_lien_he,ten_du_lieu,so_ban_ghi"]
    for i, (agency, person, title) in enumerate(LEGACY_TEXT):
        lines.append(f"{agency},{person},{title},{(i + 1) * 1000}")
    text = "\r\n".join(lines) + "\r\n"
    if encoding == "tcvn3":
        # ABC has no upper-case toned letters: "Ủy" and "Ánh" are written lower-case,
        # as .VnTimeH fonts do; keep this file to letters ABC can hold.
        text = text.replace("Ủy", "Uỷ").replace("Ánh", "Anh")
    return encode(text, encoding)


def main() -> None:
    header = "Mã xã,Tên xã,Huyện,Dân số,Diện tích (km²)\n"
    rows = "".join(f'{c},{n},{h},{p},"{a}"\n' for c, n, h, p, a in COMMUNES)
    write("utf8_bom.csv", b"\xef\xbb\xbf" + (header + rows).encode("utf-8"))

    write("tcvn3.csv", legacy_csv("tcvn3"))
    write("vni.csv", legacy_csv("vni"))
    write("cp1258.csv", legacy_csv("cp1258"))

    semi = "Mã xã;Tên xã;Ngày cập nhật;Diện tích (km²);Ngân sách (đồng)\n" + "".join(
        f"{c};{n};{d:02d}/0{m}/2024;{a};{b}\n"
        for (c, n, _h, _p, a), d, m, b in zip(
            COMMUNES, (1, 15, 28, 3, 31), (1, 2, 3, 4, 5), ("1.234.567", "2.500.000", "980.000", "12.000.000", "0"), strict=True
        )
    )
    write("semicolon_decimal_comma.csv", semi)

    late = ["ma,so_luong,ty_le,ghi_chu"]
    for i in range(1, 60001):
        qty = str(i % 977)
        ratio = str(i % 100)
        if i == 58000:
            qty = "không rõ"
        if i == 59999:
            ratio = "12.5"
        late.append(f"M{i:05d},{qty},{ratio},dòng {i}")
    write("mixed_late.csv", "\n".join(late) + "\n")

    write("ragged.csv", "a,b,c\n1,2,3\n4,5,6\n7,8\n9,10,11,12\n")
    write("truncated.csv", 'ten,mo_ta\nAn,"mô tả dài\nBình,"chưa đóng ngoặc')
    write("binary_as.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    write("nul_bytes.csv", b"a,b\n1,2\n3,\x00\x00\x004\n")

    sheet = (
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main"><sheetData>' + b" " * 60_000_000 + b"</sheetData></worksheet>"
    )
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    write("zip_bomb.xlsx", bomb.getvalue())
    write("damaged.xlsx", bomb.getvalue()[:2000])

    from openpyxl import Workbook
    import datetime as dt

    workbook = Workbook()
    ws = workbook.active
    ws.title = "Báo cáo"
    ws.append(["ỦY BAN NHÂN DÂN TỈNH LAI CHÂU"])
    ws.append(["BÁO CÁO SỐ LIỆU TRƯỜNG HỌC NĂM 2024"])
    ws.append([])
    ws.append(["STT", "Tên trường", "Ngày thành lập", "Số học sinh", "Tỷ lệ đạt chuẩn", "Công lập"])
    schools = [
        ("Trường THPT Chuyên Lê Quý Đôn", dt.datetime(1999, 9, 5), 820, 0.95, True),
        ("Trường PTDTNT tỉnh", dt.datetime(2001, 8, 15), 610, 0.9, True),
        ("Trường Tiểu học Sìn Hồ", dt.datetime(1975, 9, 1), 415, 0.825, True),
        ("Trường Mầm non Hoa Sen", dt.datetime(2015, 1, 10), 230, 0.7, False),
    ]
    for i, (name, founded, pupils, ratio, public) in enumerate(schools, start=1):
        ws.append([i, name, founded, pupils, ratio, public])
    ws.append([None, "Tổng cộng", None, "=SUM(D5:D8)", None, None])
    workbook.save(HERE / "report_with_title_rows.xlsx")

    write(
        "formula_injection.csv",
        'ten,cong_thuc,so\nAn,"=HYPERLINK(""http://x.invalid"",""bấm"")",-5\nBình,+84912345678,3\n'
        'Chi,@SUM(A1:A2),4\nDũng,"-2+3",7\nEm,"\tđầu tab",8\n',
    )

    features = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"ten": "Trụ sở UBND tỉnh", "loai": "co_quan", "so_tang": 9},
             "geometry": {"type": "Point", "coordinates": [103.4587, 22.3964]}},
            {"type": "Feature", "properties": {"ten": "Hồ Thủy điện Lai Châu", "loai": "ho", "so_tang": None},
             "geometry": {"type": "Polygon", "coordinates": [[[102.9, 22.1], [103.0, 22.1], [103.0, 22.2], [102.9, 22.1]]]}},
            {"type": "Feature", "properties": {"ten": "Quốc lộ 4D", "loai": "duong", "so_tang": None},
             "geometry": {"type": "LineString", "coordinates": [[103.45, 22.39], [103.6, 22.35]]}},
        ],
    }
    write("points.geojson", json.dumps(features, ensure_ascii=False, indent=1))

    nested = {
        "data": [
            {"ma": "DS01", "ten": "Dữ liệu dân cư", "co_quan": {"ten": "Công an tỉnh", "ma": "CA"},
             "the": ["dân cư", "định danh"], "so_ban_ghi": 485000, "cap_nhat": "2024-06-30"},
            {"ma": "DS02", "ten": "Dữ liệu đất đai", "co_quan": {"ten": "Sở TN&MT", "ma": "TNMT"},
             "the": ["đất đai"], "so_ban_ghi": 120500, "cap_nhat": "2024-05-01"},
            {"ma": "DS03", "ten": "Danh sách trường học", "co_quan": {"ten": "Sở GD&ĐT", "ma": None},
             "the": [], "so_ban_ghi": 612, "cap_nhat": None},
        ]
    }
    write("nested.json", json.dumps(nested, ensure_ascii=False, indent=1))
    write("array.json", json.dumps([{"x": 1, "y": "một"}, {"x": 2, "y": "hai", "z": True}], ensure_ascii=False))
    write("not_json.json", '[{"a": 1}, {"a": 2,}]')

    write("tabs.tsv", "ma\tten\tgia_tri\n1\tLai Châu\t3,5\n2\tĐiện Biên\t4,25\n")
    write("headerless.csv", "1,2024-01-01,10.5\n2,2024-01-02,11.25\n3,2024-01-03,9\n")
    write("leading_zeros.csv", "ma_xa,ten\n00001,Phường Tân Phong\n00002,Xã Nậm Loỏng\n00103,Xã Bản Giang\n")
    write("utf16.tsv", ("ma\tten\n1\tTân Uyên\n2\tThan Uyên\n").encode("utf-16"))
    write(
        "title_rows.csv",
        "ỦY BAN NHÂN DÂN TỈNH LAI CHÂU\nBÁO CÁO DÂN SỐ\nma,ten,dan_so\n1,Lai Châu,10\n2,Sìn Hồ,20\n",
    )
    write(
        "vi_booleans_datetimes.csv",
        "ten,con_hoat_dong,thoi_diem\nTrạm A,Có,15/03/2024 08:30\nTrạm B,Không,16/03/2024 17:05\nTrạm C,có,31/12/2024 23:59\n",
    )


if __name__ == "__main__":
    main()
