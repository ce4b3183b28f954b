"""Sign-in, sessions in a cookie, CSRF: the dashboard authenticates exactly as the API."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.support import ADMIN_TOKEN
from tests.web.conftest import signed_in
from vantagepoint.core.store.models import Token
from vantagepoint.core.websession import COOKIE, CSRF_HEADER, SESSION_LABEL, csrf_for


def _nonce(client) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)


def test_pages_redirect_to_the_login_form_keeping_the_target(app_client):
    app_client.headers.pop("Authorization")
    r = app_client.get("/executions?state=running", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/executions%3Fstate%3Drunning"


def test_token_login_sets_an_http_only_cookie(app_client):
    app_client.headers.pop("Authorization")
    r = app_client.post("/login", data={"csrf": _nonce(app_client), "token": ADMIN_TOKEN,
                                        "next": "/account"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/account"
    cookie = r.headers["set-cookie"]
    assert f"{COOKIE}={ADMIN_TOKEN}" in cookie and "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "admin" in app_client.get("/account").text


def test_login_form_without_its_nonce_is_refused(app_client):
    app_client.headers.pop("Authorization")
    app_client.get("/login")
    r = app_client.post("/login", data={"csrf": "forged", "token": ADMIN_TOKEN})
    assert r.status_code == 403 and COOKIE not in app_client.cookies


def test_login_never_redirects_off_site(app_client):
    app_client.headers.pop("Authorization")
    r = app_client.post("/login", data={"csrf": _nonce(app_client), "token": ADMIN_TOKEN,
                                        "next": "//evil.example/"}, follow_redirects=False)
    assert r.headers["location"] == "/"


def test_wrong_secrets_and_node_tokens_do_not_sign_in(app_client):
    node_token = app_client.post("/api/v1/node-tokens", json={"node": "n1"}).json()["token"]
    app_client.headers.pop("Authorization")
    for token in ("vpu_wrong", node_token):
        r = app_client.post("/login", data={"csrf": _nonce(app_client), "token": token})
        assert r.status_code == 401 and "wrong token" in r.text
    r = app_client.post("/login", data={"csrf": _nonce(app_client), "username": "admin",
                                        "password": "not-it"})
    assert r.status_code == 401


def test_password_session_is_a_token_revoked_at_logout(app_client):
    assert app_client.post("/api/v1/users", json={"name": "carol",
                                                  "password": "carol-pass-1"}).status_code == 201
    app_client.headers.pop("Authorization")
    r = app_client.post("/login", data={"csrf": _nonce(app_client), "username": "carol",
                                        "password": "carol-pass-1"}, follow_redirects=False)
    assert r.status_code == 303
    secret = app_client.cookies[COOKIE]
    assert app_client.get("/api/v1/users/me").json()["name"] == "carol"
    # Logging out needs the session's CSRF token too.
    app_client.post("/logout", data={"csrf": "forged"})
    assert app_client.get("/api/v1/users/me").status_code == 200
    app_client.post("/logout", data={"csrf": csrf_for(secret)})
    with app_client.app.state.sessions() as db:
        token = db.scalar(select(Token).where(Token.label == SESSION_LABEL))
        assert token.revoked_at is not None
    app_client.cookies.set(COOKIE, secret)
    assert app_client.get("/api/v1/users/me").status_code == 401


def test_the_api_takes_the_cookie_but_changes_need_the_csrf_header(app_client):
    client = signed_in(app_client)
    assert client.get("/api/v1/users/me").json()["name"] == "admin"
    refused = client.post("/api/v1/tokens", json={"label": "x"})
    assert refused.status_code == 403 and CSRF_HEADER in refused.json()["message"]
    wrong = client.post("/api/v1/tokens", json={"label": "x"}, headers={CSRF_HEADER: "0" * 32})
    assert wrong.status_code == 403
    ok = client.post("/api/v1/tokens", json={"label": "x"},
                     headers={CSRF_HEADER: csrf_for(ADMIN_TOKEN)})
    assert ok.status_code == 201


def test_the_page_carries_the_sessions_csrf_token(browser_client):
    page = browser_client.get("/").text
    assert f'<meta name="csrf-token" content="{csrf_for(ADMIN_TOKEN)}">' in page


def test_sign_in_attempts_are_limited_per_address(core_settings):
    from fastapi.testclient import TestClient

    from vantagepoint.core import create_app

    settings = core_settings.model_copy(update={"login_attempts_per_min": 0.5,
                                                "login_attempts_burst": 3})
    with TestClient(create_app(settings)) as client:
        for _ in range(3):  # wrong passwords, until the burst is spent
            r = client.post("/login", data={"csrf": _nonce(client), "username": "admin",
                                            "password": "guess"})
            assert r.status_code == 401
        # The right token now waits too: every attempt counts, not only failed ones.
        r = client.post("/login", data={"csrf": _nonce(client), "token": ADMIN_TOKEN},
                        follow_redirects=False)
        assert r.status_code == 429 and COOKIE not in client.cookies
        assert 1 <= int(r.headers["Retry-After"]) <= 120
        assert "too many sign-in attempts from testclient" in r.text
        # Another address is not held up by this one's attempts.
        other = TestClient(client.app, client=("192.0.2.7", 50000))
        r = other.post("/login", data={"csrf": _nonce(other), "token": ADMIN_TOKEN},
                       follow_redirects=False)
        assert r.status_code == 303


def test_admin_sections_follow_the_session_tokens_scopes(app_client):
    weak = app_client.post("/api/v1/tokens", json={"scopes": ["read", "schedule"]}).json()
    full = signed_in(app_client).get("/account").text
    assert 'id="users"' in full and "admin (admin)" in full.replace("</span>", "")
    app_client.cookies.clear()
    page = signed_in(app_client, weak["token"]).get("/account").text
    # The same admin, but a token whose admin requests would be refused: no admin forms.
    assert 'id="users"' not in page and "(admin)" not in page
    assert 'id="quota"' in page and 'id="tokens"' in page and 'id="quotas"' not in page
