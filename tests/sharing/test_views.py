# SPDX-License-Identifier: AGPL-3.0-or-later
"""Sharing pages, driven through real forms."""

from __future__ import annotations

import re

from tests.conftest import login
from tests.sharing.conftest import World

CODE = "dat-dai.thua-dat"


def test_public_pages_render_in_vietnamese(client, world: World):
    world.service()
    world.db.commit()
    catalog = client.get("/services")
    assert catalog.status_code == 200 and "Dịch vụ chia sẻ dữ liệu" in catalog.text
    assert 'rel="alternate"' in catalog.headers["link"]
    page = client.get(f"/services/{CODE}")
    assert page.status_code == 200
    assert "/gateway/token" in page.text and f"/gateway/{CODE}/parcels/parcel_id" in page.text
    assert "127.0.0.1:9" not in page.text  # the upstream stays hidden
    assert client.get(f"/services/{CODE}/versions").status_code == 200
    assert "Quy chế khai thác" in client.get("/regulations").text
    assert client.get("/regulations/QC-01").status_code == 200
    assert client.get("/sharing/notices").status_code == 200
    assert client.get("/sharing").status_code == 200


def test_consumer_requests_access_and_provider_refuses_then_approves(client, world: World):
    world.service()
    world.db.commit()
    token = login(client, world.c_editor)
    form = client.get(f"/services/{CODE}/request")
    assert form.status_code == 200 and 'value="area_m2"' in form.text
    bad = client.post(f"/services/{CODE}/request", data={"csrf_token": token, "purpose": "", "frequency": ""})
    assert bad.status_code == 422 and 'id="e-purpose"' in bad.text
    sent = client.post(f"/services/{CODE}/request", data={
        "csrf_token": token, "purpose": "Giải quyết hồ sơ", "frequency": "50 lần/ngày",
        "requested_fields": ["parcel_id", "area_m2"]}, follow_redirects=False)
    assert sent.status_code == 303
    request_path = sent.headers["location"].split("?")[0]
    assert "Hạn xử lý" in client.get("/sharing/requests").text or client.get("/sharing/requests").status_code == 200
    client.post("/logout", data={"csrf_token": token})

    token = login(client, world.p_approver)
    assert client.get("/sharing/requests?box=incoming").status_code == 200
    refused = client.post(f"{request_path}/reject", data={"csrf_token": token, "reason": "Không", "legal_basis": ""})
    assert refused.status_code == 422 and 'id="e-legal_basis"' in refused.text
    approved = client.post(f"{request_path}/approve", data={"csrf_token": token, "quota_per_minute": "60"})
    assert approved.status_code == 200
    assert re.search(r"cs_[A-Za-z0-9_-]{20,}", approved.text)  # shown once
    again = client.get(request_path)
    assert not re.search(r"cs_[A-Za-z0-9_-]{20,}", again.text)
    assert client.get("/sharing/grants").status_code == 200


def test_provider_pages(client, world: World):
    world.service(publish=False)
    world.db.commit()
    token = login(client, world.p_admin)
    assert client.get("/sharing/my-services").status_code == 200
    assert client.get(f"/services/{CODE}/edit").status_code == 200
    published = client.post(f"/services/{CODE}/publish", data={"csrf_token": token}, follow_redirects=False)
    assert published.status_code == 303
    bad = client.post("/sharing/suspensions", data={
        "csrf_token": token, "service_code": CODE, "kind": "planned", "reason": "Bảo trì",
        "starts_at": "2020-01-01T08:00", "ends_at": "2020-01-01T10:00"})
    assert bad.status_code == 422 and 'id="e-starts_at"' in bad.text
    assert client.get("/sharing/agreements").status_code == 200
    assert client.get("/sharing/issues").status_code == 200
    assert client.get("/sharing/statistics").status_code == 200
    assert client.get("/sharing/statistics/database/CSDL-DD").status_code == 200


def test_it_unit_sees_its_queues(client, world: World):
    world.db.commit()
    login(client, world.it_admin)
    assert client.get("/sharing/it-unit").status_code == 200
    login(client, world.o_admin)


def test_applications_page_shows_the_secret_once(client, world: World):
    world.db.commit()
    token = login(client, world.c_admin)
    created = client.post("/sharing/applications", data={"csrf_token": token, "code": "mot-cua", "name": "Một cửa"},
                          follow_redirects=False)
    assert created.status_code == 303
    page = client.get("/sharing/applications")
    app_id = re.search(r'/sharing/applications/([0-9a-f-]{36})/accounts', page.text).group(1)
    issued = client.post(f"/sharing/applications/{app_id}/accounts", data={"csrf_token": token, "label": "prod"})
    assert issued.status_code == 200 and re.search(r"cs_[A-Za-z0-9_-]{20,}", issued.text)
    assert not re.search(r"cs_[A-Za-z0-9_-]{20,}", client.get("/sharing/applications").text)


def test_provider_registers_a_regulation_through_the_form(client, world: World):
    world.db.commit()
    token = login(client, world.p_admin)
    bad = client.post("/regulations", data={"csrf_token": token, "code": "QC-02", "title": "Quy chế",
                                            "decision_number": "1/QĐ", "decision_date": "2026-01-01",
                                            "scope": "databases", "status": "in_force"})
    assert bad.status_code == 422 and 'id="e-document_url"' in bad.text and 'id="e-database_codes"' in bad.text
    ok = client.post("/regulations", data={"csrf_token": token, "code": "QC-02", "title": "Quy chế",
                                           "decision_number": "1/QĐ", "decision_date": "2026-01-01",
                                           "scope": "databases", "status": "in_force", "database_codes": "CSDL-DD",
                                           "document_url": "https://example.vn/qc.pdf", "period_online_query_hours": "12"},
                     follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/regulations/QC-02"


def test_signed_regulation_is_uploaded_as_a_pdf_and_public(client, world: World):
    world.db.commit()
    token = login(client, world.p_admin)
    bad = client.post("/regulations/QC-01/document", data={"csrf_token": token},
                      files={"document": ("qc.docx", b"PK\x03\x04 not a pdf", "application/octet-stream")})
    assert bad.status_code == 422
    ok = client.post("/regulations/QC-01/document", data={"csrf_token": token},
                     files={"document": ("qc.pdf", b"%PDF-1.7\n%%EOF\n", "application/pdf")}, follow_redirects=False)
    assert ok.status_code == 303
    client.post("/logout", data={"csrf_token": token})
    document = client.get("/regulations/QC-01/document")
    assert document.status_code == 200 and document.content.startswith(b"%PDF")


def test_agreement_flow_through_the_pages(client, world: World):
    from dulieuso.sharing import agreements
    from dulieuso.sharing.models import AgreementStatus
    from tests.sharing.test_service import FULL

    world.service()
    agreement = agreements.create_agreement(world.db, world.actor(world.p_admin), agreements.AgreementInput(
        code="TT-01", title="Thoả thuận", service_code=CODE, consumer_codes=["T-STC"], **FULL))
    agreements.transition(world.db, world.actor(world.p_admin), agreement.id, AgreementStatus.DRAFTING)
    world.db.commit()
    token = login(client, world.p_approver)
    page = client.get(f"/sharing/agreements/{agreement.id}")
    assert page.status_code == 200
    signed = client.post(f"/sharing/agreements/{agreement.id}/transition", data={"csrf_token": token, "status": "signed"},
                         follow_redirects=False)
    assert signed.status_code == 303
    illegal = client.post(f"/sharing/agreements/{agreement.id}/transition", data={"csrf_token": token, "status": "expired"})
    assert illegal.status_code == 409
    client.post("/logout", data={"csrf_token": token})
    token = login(client, world.o_admin)
    assert client.get(f"/sharing/agreements/{agreement.id}").status_code == 404
    asked = client.post("/sharing/agreements/join", data={"csrf_token": token, "join_code": "TT-01", "reason": "Cần dữ liệu"},
                        follow_redirects=False)
    assert asked.status_code == 303


def test_the_service_page_shows_a_planned_suspension(client, world: World):
    from datetime import UTC, datetime, timedelta

    from dulieuso.sharing import grants
    from dulieuso.sharing.models import SuspensionKind

    world.service()
    later = datetime.now(UTC) + timedelta(days=30)
    grants.suspend(world.db, world.actor(world.p_approver), grants.SuspensionInput(
        service_code=CODE, kind=SuspensionKind.PLANNED, reason="Nâng cấp máy chủ", starts_at=later,
        ends_at=later + timedelta(hours=4)))
    world.db.commit()
    page = client.get(f"/services/{CODE}")
    assert "Tạm dừng theo kế hoạch" in page.text and "Nâng cấp máy chủ" in page.text
    assert "Nâng cấp máy chủ" in client.get("/sharing/notices").text
