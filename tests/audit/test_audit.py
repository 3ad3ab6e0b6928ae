from conftest import bearer, login, make_user

from dulieuso.auth.models import Role


def test_admin_filters_the_trail_by_tag(client, db):
    admin = make_user(db, Role.PLATFORM_ADMIN)
    citizen = make_user(db, Role.CITIZEN)
    headers = bearer(db, admin)
    body = client.get("/api/v1/audit", params={"tag": "auth:user:create", "limit": 500}, headers=headers).json()
    subjects = {item["subject_id"] for item in body["items"]}
    assert str(citizen.id) in subjects
    assert all(item["tag"] == "auth:user:create" for item in body["items"])


def test_only_the_administrator_reads_the_trail(client, db):
    editor = make_user(db, Role.AGENCY_EDITOR)
    assert client.get("/api/v1/audit", headers=bearer(db, editor)).status_code == 403


def test_csv_export_has_a_bom_header_and_rows(client, db):
    admin = make_user(db, Role.PLATFORM_ADMIN, email="xuat@example.vn")
    response = client.get("/api/v1/audit/export.csv", headers=bearer(db, admin))
    assert response.status_code == 200
    assert response.text.startswith("\ufeffat,actor")
    assert "xuat@example.vn" in response.text


def test_csv_export_refused_for_others(client, db):
    citizen = make_user(db, Role.CITIZEN)
    assert client.get("/api/v1/audit/export.csv", headers=bearer(db, citizen)).status_code == 403


def test_audit_page_lists_changes(client, db):
    admin = make_user(db, Role.PLATFORM_ADMIN, email="trang@example.vn")
    db.commit()
    login(client, admin)
    page = client.get("/admin/audit")
    assert page.status_code == 200
    assert "Nhật ký thay đổi" in page.text
    assert "trang@example.vn" in page.text
