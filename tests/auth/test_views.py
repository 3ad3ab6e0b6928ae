from conftest import PASSWORD, csrf_from, login, make_user

from dulieuso.auth.models import Role


def test_login_page_is_vietnamese_by_default(client):
    page = client.get("/login")
    assert page.status_code == 200
    assert '<html lang="vi">' in page.text
    assert "Đăng nhập" in page.text


def test_login_form_without_csrf_is_refused(client, db):
    user = make_user(db, Role.CITIZEN)
    db.commit()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 403


def test_session_cookie_is_httponly_and_samesite(client, db):
    user = make_user(db, Role.CITIZEN)
    db.commit()
    token = csrf_from(client)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token},
                           follow_redirects=False)
    cookie = response.headers["set-cookie"].lower()
    assert "dls_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http in tests


def test_session_cookie_is_secure_behind_https(client, db):
    user = make_user(db, Role.CITIZEN)
    db.commit()
    token = csrf_from(client)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token},
                           headers={"X-Forwarded-Proto": "https"}, follow_redirects=False)
    assert "secure" in response.headers["set-cookie"].lower()


def test_login_throttle_shows_a_vietnamese_message(client, db):
    user = make_user(db, Role.CITIZEN)
    db.commit()
    token = csrf_from(client)
    for _ in range(5):
        client.post("/login", data={"email": user.email, "password": "sai", "csrf_token": token})
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 429
    assert "Đăng nhập sai quá nhiều lần" in response.text


def test_logout_ends_the_session(client, db):
    user = make_user(db, Role.CITIZEN)
    db.commit()
    token = login(client, user)
    assert client.get("/api/v1/me").status_code == 200
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert client.get("/api/v1/me").status_code == 401


def test_logged_in_post_without_csrf_is_refused(client, db):
    user = make_user(db, Role.CITIZEN)
    db.commit()
    login(client, user)
    assert client.post("/account/tokens", data={"name": "x"}).status_code == 403


def test_token_is_shown_once_on_the_account_page(client, db):
    user = make_user(db, Role.AGENCY_EDITOR)
    db.commit()
    token = login(client, user)
    created = client.post("/account/tokens", data={"name": "báo cáo", "csrf_token": token})
    assert created.status_code == 201
    assert "dls_" in created.text
    again = client.get("/account")
    assert "báo cáo" in again.text
    import re
    assert not re.search(r"dls_[A-Za-z0-9_-]{20,}", again.text)


def test_english_switch(client, db):
    token = csrf_from(client, "/")
    response = client.post("/language", data={"lang": "en", "next": "/login", "csrf_token": token})
    assert response.status_code == 200
    assert '<html lang="en">' in response.text
    assert "Log in" in response.text


def test_language_switch_does_not_redirect_offsite(client):
    token = csrf_from(client, "/")
    response = client.post("/language", data={"lang": "en", "next": "https://evil.example", "csrf_token": token},
                           follow_redirects=False)
    assert response.headers["location"] == "/"


def test_users_page_is_for_administrators(client, db):
    citizen = make_user(db, Role.CITIZEN)
    db.commit()
    login(client, citizen)
    assert client.get("/admin/users").status_code == 403


def test_admin_creates_user_through_the_form_and_sees_errors(client, db):
    admin = make_user(db, Role.PLATFORM_ADMIN)
    db.commit()
    token = login(client, admin)
    bad = client.post("/admin/users", data={"email": "khong-hop-le", "full_name": "", "role": "citizen",
                                            "password": "ngan", "csrf_token": token})
    assert bad.status_code == 422
    assert "Hãy nhập địa chỉ e-mail hợp lệ." in bad.text
    good = client.post("/admin/users", data={"email": "moi@example.vn", "full_name": "Người Mới", "role": "citizen",
                                             "password": "mot-mat-khau-du-dai", "csrf_token": token},
                       follow_redirects=False)
    assert good.status_code == 303
    assert "moi@example.vn" in client.get("/admin/users").text
