from conftest import PASSWORD, login, make_user

from dulieuso.auth.models import Role


def test_login_then_me_shows_the_account(client, db):
    user = make_user(db, Role.PLATFORM_ADMIN)
    db.commit()
    login(client, user)
    response = client.get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["email"] == user.email


def test_wrong_password_is_refused(client, db):
    user = make_user(db, Role.CITIZEN)
    db.commit()
    from conftest import csrf_from

    token = csrf_from(client)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD + "x", "csrf_token": token})
    assert response.status_code == 401
