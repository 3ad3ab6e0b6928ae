# SPDX-License-Identifier: AGPL-3.0-or-later
"""Real browser on the open-data portal: search without accents → dataset page →
preview table (htmx, filtered and sorted on the server) → download."""

from __future__ import annotations

import time

import httpx
import pytest

from dulieuso.auth.models import Role
from dulieuso.demo import DEMO_ACCOUNTS
from dulieuso.policy import service as policy

pytestmark = pytest.mark.e2e

CSV = (
    "Tên điểm,Xã,Số lượt khách\n"
    "Đèo Ô Quy Hồ,Xã Tả Lèng,52000\n"
    "Bản Sin Suối Hồ,Xã Sin Suối Hồ,18000\n"
    "Động Tiên Sơn,Xã Bình Lư,9000\n"
).encode()


def _token(live_server, role: Role) -> dict[str, str]:
    account = next(a for a in DEMO_ACCOUNTS if a.role is role)
    done = live_server.cli("token", "create", account.email, "--name", "e2e-opendata")
    assert done.returncode == 0, done.stderr
    return {"Authorization": f"Bearer {done.stdout.strip().splitlines()[-1]}"}


def _publish_dataset(url: str, editor: dict[str, str], approver: dict[str, str], admin: dict[str, str]) -> str:
    with httpx.Client(base_url=url, timeout=30) as api:
        created = api.post("/api/v1/datasets", headers=editor, json={
            "title": "Lượt khách tại điểm tham quan E2E", "notes": "Số liệu thử nghiệm.", "tags": ["du lịch"],
        })
        assert created.status_code == 201, created.text
        slug = created.json()["name"]
        # A catalog entry whose matrix offers a category as open data (a draft is enough).
        entry = api.post("/api/v1/databases", headers=editor, json={
            "code": "LCU-STC-E2E-DULICH", "name": "CSDL thống kê lượt khách", "owner_agency": "LCU-STC",
            "categories": [{"name": "Lượt khách theo điểm", "elements": [{"name": "Số lượt khách", "data_type": "integer"}],
                            "availability": {"individuals": "open_data", "organisations": "open_data"}}],
        })
        assert entry.status_code in (201, 422), entry.text
        patched = api.patch(f"/api/v1/datasets/{slug}", headers=editor, json={"source_database": "LCU-STC-E2E-DULICH"})
        assert patched.status_code == 200, patched.text
        rid = api.post(f"/api/v1/datasets/{slug}/resources", headers=editor,
                       files={"upload": ("luot-khach.csv", CSV, "text/csv")}).json()["id"]
        for _ in range(200):
            if api.get(f"/api/v1/resources/{rid}/ingest", headers=editor).json()["finished"]:
                break
            time.sleep(0.1)
        # The demo has the issued-list gate on (Decree 47 Art. 17(2)): plan the dataset, linked
        # while still a draft, and record a new issued version of the list before publishing.
        planned = api.post("/api/v1/open-data-plan/items", headers=editor, json={
            "title": "Lượt khách tại điểm tham quan E2E", "target_date": str(policy.today()), "dataset": slug,
        })
        assert planned.status_code == 201, planned.text
        issued = api.post("/api/v1/open-data-list/issues", headers=admin, json={
            "decision_number": "9999/QĐ-UBND (E2E)", "decision_date": str(policy.today()), "signer": "Nguyễn Văn Mẫu",
            "signer_title": "Chủ tịch UBND tỉnh (nhân vật hư cấu)",
        })
        assert issued.status_code == 201, issued.text
        published = api.post(f"/api/v1/datasets/{slug}/publish", headers=approver)
        if published.status_code == 409:
            pytest.skip(f"the demo catalog offers no open-data source to this agency: {published.json()['error']}")
        assert published.status_code == 200, published.text
        return slug


def test_search_dataset_preview_download(page, live_server):
    url = live_server.url
    slug = _publish_dataset(url, _token(live_server, Role.AGENCY_EDITOR), _token(live_server, Role.AGENCY_APPROVER),
                            _token(live_server, Role.PLATFORM_ADMIN))

    page.goto(f"{url}/data")
    page.get_by_label("Tìm bộ dữ liệu").fill("luot khach diem tham quan")
    page.get_by_role("button", name="Tìm kiếm").click()
    page.wait_for_url("**/datasets?q=*")
    page.get_by_role("link", name="Lượt khách tại điểm tham quan E2E").click()
    page.wait_for_url(f"**/datasets/{slug}")

    preview = page.locator("#preview")
    preview.get_by_text("Đèo Ô Quy Hồ").wait_for()
    preview.get_by_label("Tìm trong bảng").fill("sin suoi")
    preview.get_by_text("Bản Sin Suối Hồ").wait_for()
    page.wait_for_function("!document.querySelector('#preview').innerText.includes('Đèo Ô Quy Hồ')")

    with page.expect_download() as info:
        page.locator("a[download]", has_text="CSV").first.click()
    path = info.value.path()
    from pathlib import Path

    content = Path(path).read_text(encoding="utf-8-sig")
    assert "Động Tiên Sơn" in content and "Số lượt khách" in content
