"""Bad input of any kind gets a 4xx, never a 500: a sweep over every JSON API route.

Each route is called with garbage in its path parameters, its query string and its
body, as an anonymous visitor and as the platform administrator.
"""

import re

import pytest
from conftest import bearer, make_user

from dulieuso.auth.models import Role

GARBAGE_PATH = ["x", "0", "-1", "00000000-0000-0000-0000-000000000000", "%E2%80%AE", "a" * 300, "'; DROP TABLE x;--"]
GARBAGE_QUERY = {"limit": "-5", "offset": "abc", "q": "\x00đ%_", "since": "31/02/2026", "year": "99999", "n": "1e9"}
GARBAGE_BODIES = [b"{", b"[]", b'{"name": 1e309}', b'"\\ud800"', b"null", '{"tên": "đ"}'.encode()]


def api_routes(app):
    """Every documented route of the platform's own API (from its OpenAPI document)."""
    for path, operations in app.openapi()["paths"].items():
        if path.startswith("/api/v1/"):
            for method in operations:
                yield method.upper(), path


def fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


@pytest.mark.parametrize("as_admin", [False, True], ids=["anonymous", "admin"])
def test_no_route_answers_500_to_garbage(client, db, app, as_admin):
    headers = bearer(db, make_user(db, Role.PLATFORM_ADMIN)) if as_admin else {}
    failures = []
    routes = list(api_routes(app))
    assert len(routes) > 30
    for method, path in routes:
        for value in GARBAGE_PATH[:4] if "{" in path else [""]:
            url = fill(path, value)
            if method == "GET":
                attempts = [dict(params=GARBAGE_QUERY)]
            else:
                attempts = [dict(content=body, headers={"content-type": "application/json"}) for body in GARBAGE_BODIES]
            for kwargs in attempts:
                extra = kwargs.pop("headers", {})
                response = client.request(method, url, headers={**headers, **extra}, **kwargs)
                if response.status_code >= 500:
                    failures.append(f"{method} {url} -> {response.status_code}: {response.text[:200]}")
    assert not failures, "\n".join(failures)
