from conftest import bearer, make_agency, make_user

from dulieuso.auth.models import Role


def test_me_needs_a_token_or_session(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Bạn cần đăng nhập."


def test_bad_scheme_and_bad_token_are_401(client):
    assert client.get("/api/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer dls_sai"}).status_code == 401


def test_token_lifecycle_create_use_revoke(client, db):
    user = make_user(db, Role.AGENCY_EDITOR)
    headers = bearer(db, user)
    created = client.post("/api/v1/tokens", json={"name": "đồng bộ", "expires_days": 30}, headers=headers)
    assert created.status_code == 201
    plain = created.json()["token"]
    listed = client.get("/api/v1/tokens", headers=headers).json()
    assert all("token" not in t for t in listed)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"}).json()["email"] == user.email
    assert client.delete(f"/api/v1/tokens/{created.json()['id']}", headers=headers).status_code == 200
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"}).status_code == 401


def test_agency_admin_lists_only_own_agency(client, db):
    from dulieuso.agencies.models import Agency

    admin = make_user(db, Role.AGENCY_ADMIN)
    colleague = make_user(db, Role.AGENCY_EDITOR, agency=db.get(Agency, admin.agency_id))
    outsider = make_user(db, Role.AGENCY_EDITOR)
    headers = bearer(db, admin)
    emails = {u["email"] for u in client.get("/api/v1/users", headers=headers).json()["items"]}
    assert emails == {admin.email, colleague.email}
    assert outsider.email not in emails


def test_agency_admin_cannot_disable_other_agency_user(client, db):
    admin = make_user(db, Role.AGENCY_ADMIN)
    outsider = make_user(db, Role.AGENCY_EDITOR)
    response = client.post(f"/api/v1/users/{outsider.id}/disable", headers=bearer(db, admin))
    assert response.status_code == 404


def test_platform_admin_creates_agency_staff(client, db):
    admin = make_user(db, Role.PLATFORM_ADMIN)
    agency = make_agency(db, "T-STAFF")
    response = client.post(
        "/api/v1/users",
        json={"email": "bt@example.vn", "full_name": "Biên Tập", "role": "agency_editor",
              "password": "mot-mat-khau-du-dai", "agency_code": "T-STAFF"},
        headers=bearer(db, admin),
    )
    assert response.status_code == 201
    assert response.json()["agency_id"] == str(agency.id)


def test_citizen_cannot_create_users(client, db):
    citizen = make_user(db, Role.CITIZEN)
    response = client.post(
        "/api/v1/users",
        json={"email": "x@example.vn", "full_name": "X", "role": "citizen", "password": "mot-mat-khau-du-dai"},
        headers=bearer(db, citizen),
    )
    assert response.status_code == 403
