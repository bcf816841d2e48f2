"""Login by API key, session cookies, CSRF, logout, revocation."""

from __future__ import annotations

from gateway.ui.sessions import LOGIN_COOKIE, SESSION_COOKIE
from tests.ui.conftest import Ui, csrf_of, login


def set_cookies(response: object) -> list[str]:
    return list(response.headers.get_list("set-cookie"))  # type: ignore[attr-defined]


def test_pages_need_a_login_and_come_back_after_it(ui: Ui) -> None:
    client = ui.client()
    response = client.get("/ui/alerts?show=all", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login?next=%2Fui%2Falerts%3Fshow%3Dall"
    _, key = ui.key("viewer")
    landed = login(client, key, "/ui/alerts?show=all")
    assert landed.status_code == 200 and landed.url.path == "/ui/alerts"


def test_login_sets_a_strict_httponly_session_cookie_that_is_not_the_key(ui: Ui) -> None:
    client = ui.client()
    form = client.get("/ui/login")
    assert 'name="api_key"' in form.text and 'type="password"' in form.text
    (login_cookie,) = set_cookies(form)
    assert login_cookie.startswith(LOGIN_COOKIE)
    assert "HttpOnly" in login_cookie and "SameSite=strict" in login_cookie
    _, key = ui.key("auditor")
    data = {"api_key": key, "csrf": csrf_of(form.text), "next": ""}
    response = client.post("/ui/login", data=data, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/ui/search"
    session_cookie = next(c for c in set_cookies(response) if c.startswith(SESSION_COOKIE))
    assert "HttpOnly" in session_cookie and "SameSite=strict" in session_cookie
    assert "Path=/ui" in session_cookie and "Secure" not in session_cookie
    secret = key.split("_", 2)[2]
    assert all(secret not in c for c in set_cookies(response))


def test_over_https_the_cookie_is_secure(ui: Ui) -> None:
    client = ui.client(https=True)
    form = client.get("/ui/login")
    _, key = ui.key("viewer")
    data = {"api_key": key, "csrf": csrf_of(form.text)}
    response = client.post("/ui/login", data=data, follow_redirects=False)
    assert "Secure" in next(c for c in set_cookies(response) if c.startswith(SESSION_COOKIE))


def test_a_wrong_or_revoked_key_is_refused(ui: Ui) -> None:
    client = ui.client()
    response = login(client, "alk_000000000000_not-a-real-secret")
    assert response.status_code == 401
    assert "not valid or was revoked" in response.text
    key_id, key = ui.key("viewer")
    ui.keys.revoke(key_id)
    assert login(client, key).status_code == 401


def test_login_needs_the_forms_own_token(ui: Ui) -> None:
    _, key = ui.key("admin")
    client = ui.client()
    client.get("/ui/login")
    forged = client.post("/ui/login", data={"api_key": key, "csrf": "guessed"})
    assert forged.status_code == 403 and "expired" in forged.text
    fresh = ui.client()  # no login cookie at all: a cross-site form post
    assert fresh.post("/ui/login", data={"api_key": key, "csrf": ""}).status_code == 403


def test_login_from_another_origin_is_refused(ui: Ui) -> None:
    _, key = ui.key("admin")
    client = ui.client()
    form = client.get("/ui/login")
    data = {"api_key": key, "csrf": csrf_of(form.text)}
    response = client.post("/ui/login", data=data, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    site = client.post("/ui/login", data=data, headers={"Sec-Fetch-Site": "cross-site"})
    assert site.status_code == 403


def test_next_never_leaves_the_ui(ui: Ui) -> None:
    _, key = ui.key("viewer")
    for target in ("https://evil.example/", "//evil.example/ui/", "/v1/events"):
        response = login(ui.client(), key, target)
        assert response.url.path == "/ui/search" and response.url.host == "testserver"


def test_logout_needs_the_session_token(ui: Ui) -> None:
    _, key = ui.key("viewer")
    client = ui.login(key)
    refused = client.post("/ui/logout", data={"csrf": "nope"})
    assert refused.status_code == 403
    page = client.get("/ui/search")
    assert page.status_code == 200
    out = client.post("/ui/logout", data={"csrf": csrf_of(page.text)})
    assert out.url.path == "/ui/login" and "logged out" in out.text
    assert client.get("/ui/search", follow_redirects=False).status_code == 303


def test_revoking_the_key_ends_its_sessions_at_once(ui: Ui) -> None:
    key_id, key = ui.key("auditor")
    client = ui.login(key)
    assert client.get("/ui/search").status_code == 200
    ui.keys.revoke(key_id)
    response = client.get("/ui/search", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/ui/login")


def test_pages_carry_security_headers(ui: Ui) -> None:
    _, key = ui.key("viewer")
    response = ui.login(key).get("/ui/search")
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_static_assets_are_served_from_the_package(ui: Ui) -> None:
    client = ui.client()
    assert "--allow-bg" in client.get("/ui/static/ui.css").text
    assert "timetravel" in client.get("/ui/static/ui.js").text
    assert client.get("/ui", follow_redirects=False).headers["location"] == "/ui/search"


def test_a_same_origin_post_is_accepted_even_with_origin_null(ui: Ui) -> None:
    # Browsers send "Origin: null" under some referrer policies; Sec-Fetch-Site decides.
    _, key = ui.key("viewer")
    client = ui.client()
    form = client.get("/ui/login")
    data = {"api_key": key, "csrf": csrf_of(form.text)}
    headers = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    response = client.post("/ui/login", data=data, headers=headers, follow_redirects=False)
    assert response.status_code == 303
