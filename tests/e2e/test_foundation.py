"""Real browser: log in, open the agency list, switch to English, see a focal point."""

import httpx
import pytest

from dulieuso.demo import DEMO_ACCOUNTS

pytestmark = pytest.mark.e2e


def test_login_agencies_english_focal_point(page, live_server):
    admin = DEMO_ACCOUNTS[0]
    finance = httpx.get(f"{live_server.url}/api/v1/agencies/LCU-STC").json()
    focal_name = finance["focal_point"]["name"]

    page.goto(f"{live_server.url}/login")
    assert page.locator("h1").inner_text() == "Đăng nhập"
    page.get_by_label("E-mail").fill(admin.email)
    page.get_by_label("Mật khẩu").fill(admin.password)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_server.url}/")
    assert admin.email in page.locator("header").inner_text()

    page.get_by_role("link", name="Cơ quan, đơn vị").first.click()
    page.wait_for_url("**/agencies**")
    assert "Sở Tài chính" in page.content()

    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("link", name="Agencies").first.is_visible()

    page.locator('a[href="/agencies/LCU-STC"]').first.click()
    page.wait_for_url("**/agencies/LCU-STC")
    assert page.get_by_text(focal_name).first.is_visible()
    assert page.locator("html").get_attribute("lang") == "en"
