# SPDX-License-Identifier: AGPL-3.0-or-later
"""The personal-data guard: positives and the negatives that must not block."""

from __future__ import annotations

import pytest

from dulieuso.datastore import pii


def scan_csv(load, write, text):
    return pii.scan(load(write("data.csv", text)).parquet_path)


def kinds(report):
    return {f.kind: f for f in report.findings}


def test_prefixes_come_from_the_province_table():
    prefixes = pii.cccd_prefixes()
    assert len(prefixes) == 63
    assert "001" in prefixes and "012" in prefixes and "096" in prefixes
    assert "099" not in prefixes and "000" not in prefixes


def test_a_citizen_list_is_personal_data(load, write):
    report = scan_csv(
        load, write,
        "Họ và tên,Ngày sinh,Số CCCD,Điện thoại,Email\n"
        "Nguyễn Văn An,01/02/1990,001090012345,0912 345 678,an.nguyen@gmail.com\n"
        "Lò Thị Bình,15/12/1985,012185001234,+84 983 456 789,binh@yahoo.com\n"
        "Giàng A Páo,20/05/2001,012201009876,0389.123.456,\n",
    )
    assert report.verdict == pii.VERDICT_PERSONAL and report.blocking
    found = kinds(report)
    assert found["cccd"].count == 3 and found["cccd"].fields == ("Số CCCD",)
    assert found["cccd"].examples[0] == "0010******45"
    assert found["phone"].count == 3
    assert found["email"].examples[0] == "a***@gmail.com"
    assert found["name_dob"].fields == ("Họ và tên", "Ngày sinh")
    assert "Nguyễn" not in " ".join(found["name_dob"].examples)


def test_twelve_digits_with_an_invalid_province_prefix_are_not_cccd(load, write):
    report = scan_csv(load, write, "ma_ho_so,so_tien\n099123456789,1\n000987654321,2\n123456789012,3\n")
    assert "cccd" not in kinds(report)
    assert report.verdict == pii.VERDICT_CLEAR


def test_cccd_inside_free_text_is_found(load, write):
    report = scan_csv(load, write, "ghi_chu\nCông dân có CCCD số 034095001122 đã nộp hồ sơ\nkhông có\n")
    assert kinds(report)["cccd"].count == 1


def test_old_nine_digit_id_cards_with_a_header(load, write):
    report = scan_csv(load, write, "so_cmnd,ten\n012345678,An\n187654321,Bình\n")
    assert kinds(report)["cmnd"].count == 2


def test_nine_digit_quantities_are_not_id_cards(load, write):
    report = scan_csv(load, write, "nam,ngan_sach\n2023,123456789\n2024,234567890\n")
    assert report.verdict == pii.VERDICT_CLEAR


def test_agency_contacts_are_only_for_review(load, write):
    report = scan_csv(
        load, write,
        "co_quan,dien_thoai,email\nSở TT&TT,0213 3876 543,sotttt@laichau.gov.vn\nSở Tài chính,02133876111,stc@laichau.gov.vn\n",
    )
    assert report.verdict == pii.VERDICT_REVIEW
    assert set(kinds(report)) == {"landline", "institutional_email"}


def test_names_without_birth_dates_are_not_name_dob(load, write):
    report = scan_csv(load, write, "Họ và tên,Chức vụ,Ngày bổ nhiệm\nNguyễn Văn An,Giám đốc,01/03/2024\nTrần Thị Bình,Phó Giám đốc,15/06/2023\n")
    assert "name_dob" not in kinds(report)


def test_birth_dates_found_by_their_values(load, write):
    given = ["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Khánh", "Lan"]
    rows = "".join(f"Phạm Văn {g},{1950 + n * 3}-0{1 + n % 9}-1{n % 9}\n" for n, g in enumerate(given))
    report = scan_csv(load, write, "ten,ngay\n" + rows)
    assert kinds(report)["name_dob"].count == 8


def test_product_codes_that_look_like_numbers_do_not_block(load, write):
    report = scan_csv(load, write, "ma_hang,ten\nSP-0001,Chè Tam Đường\nSP-0002,Gạo Séng Cù\n")
    assert report.verdict == pii.VERDICT_CLEAR and report.findings == []


@pytest.mark.parametrize(("value", "masked"), [("001234567834", "0012******34"), ("an@gmail.com", "a***@gmail.com")])
def test_mask(value, masked):
    assert pii.mask(value) == masked


def test_report_serialises(load, write):
    data = scan_csv(load, write, "email\nx@gmail.com\n").as_dict()
    assert data["verdict"] == "personal_data" and data["findings"][0]["kind"] == "email"
