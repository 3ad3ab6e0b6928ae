# SPDX-License-Identifier: AGPL-3.0-or-later
"""Real browser: an agency drafts and submits an entry, the IT unit reviews and accepts
it, the administrator issues a version, and the public finds the entry without accents."""

import pytest

from dulieuso.demo import DEMO_ACCOUNTS
from dulieuso.auth.models import Role

pytestmark = pytest.mark.e2e

CODE = "LCU-STC-E2E-NGANSACH"


def _account(role: Role):
    return next(a for a in DEMO_ACCOUNTS if a.role is role)


def _login(page, url: str, role: Role) -> None:
    account = _account(role)
    page.context.clear_cookies()
    page.goto(f"{url}/login")
    page.get_by_label("E-mail").fill(account.email)
    page.get_by_label("Mật khẩu").fill(account.password)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{url}/")


def test_draft_submit_review_issue_public(page, live_server):
    url = live_server.url
    _login(page, url, Role.AGENCY_EDITOR)

    # Draft, with htmx adding a second element row.
    page.goto(f"{url}/catalog/new")
    page.locator("#f-code").fill(CODE)
    page.locator("#f-name").fill("Cơ sở dữ liệu quyết toán ngân sách xã")
    for field, text in {
        "purpose": "Tổng hợp quyết toán ngân sách các xã",
        "scope": "38 xã, phường",
        "content": "Quyết toán thu, chi ngân sách xã",
        "collection_mechanism": "Các xã nhập trên phần mềm",
        "update_mechanism": "Cập nhật khi phê duyệt quyết toán",
        "data_sources": "Ủy ban nhân dân các xã",
    }.items():
        page.locator(f"#f-{field}").fill(text)
    page.locator("#f-update_frequency").select_option("yearly")
    page.locator('[name="categories[0].name"]').fill("Quyết toán theo xã")
    page.locator('[name="categories[0].availability.province_agencies"]').select_option("default")
    page.locator('[name="categories[0].availability.individuals"]').select_option("open_data")
    page.locator('[name="categories[0].elements[0].name"]').fill("Năm ngân sách")
    page.locator('[name="categories[0].elements[0].data_type"]').select_option("integer")
    page.get_by_role("button", name="Thêm trường dữ liệu").click()
    page.locator('[name="categories[0].elements[1].name"]').fill("Tổng chi")
    page.get_by_role("button", name="Lưu bản nháp").click()
    page.wait_for_url(f"**/catalog/databases/{CODE}?saved=1")
    assert "Tổng chi" in page.content()

    page.get_by_role("button", name="Gửi thẩm định").click()
    page.wait_for_url(f"**/catalog/databases/{CODE}?done=submitted")

    # The IT unit reviews and accepts.
    _login(page, url, Role.PLATFORM_ADMIN)
    page.goto(f"{url}/catalog/review")
    page.get_by_role("link", name=CODE).click()
    page.wait_for_url(f"**/catalog/databases/{CODE}/review")
    page.locator("#f-field").select_option("scope")
    page.locator("#f-comment").fill("Phạm vi rõ ràng.")
    page.get_by_role("button", name="Thêm ý kiến").click()
    page.wait_for_url("**?done=commented")
    page.get_by_role("button", name="Chấp thuận và công bố").click()
    page.wait_for_url("**/catalog/review?done=accepted")

    # The administrator records the issued version.
    page.goto(f"{url}/catalog/issues/new")
    page.locator("#f-decision_number").fill("99/QĐ-UBND (thử nghiệm)")
    page.locator("#f-decision_date").fill("2026-11-01")
    page.locator("#f-signer").fill("Nguyễn Văn Mẫu")
    page.get_by_role("button", name="Ban hành").click()
    page.wait_for_url("**/catalog/issues/*?issued=1")
    assert CODE in page.content()

    # The public finds it without diacritics and sees the matrix.
    page.context.clear_cookies()
    page.goto(f"{url}/catalog?q=quyet+toan+ngan+sach+xa")
    page.get_by_role("link", name="Cơ sở dữ liệu quyết toán ngân sách xã").click()
    page.wait_for_url(f"**/catalog/databases/{CODE}")
    matrix = page.locator("table.matrix").inner_text()
    assert "Quyết toán theo xã" in matrix and "Dữ liệu mở" in matrix
