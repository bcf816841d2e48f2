"""Log in with an API key, log out.

The login form carries a double-submit token (a SameSite=Strict cookie and a hidden
field that must match) so another site cannot log a browser in under its own key.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from gateway.ui.guard import Pages, current_session, read_form, safe_next, same_origin, ui_context
from gateway.ui.render import page
from gateway.ui.sessions import LOGIN_COOKIE, SESSION_COOKIE


def set_cookie(response: Response, request: Request, name: str, value: str, path: str) -> None:
    response.set_cookie(
        name,
        value,
        path=path,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def login_form(
    request: Request, next_url: str, status: int = 200, error: str = "", notice: str = ""
) -> Response:
    token = secrets.token_urlsafe(32)
    response = page(
        request,
        "login.html",
        None,
        status=status,
        login_csrf=token,
        next=next_url,
        error=error,
        notice=notice,
    )
    set_cookie(response, request, LOGIN_COOKIE, token, "/ui/login")
    return response


def add_login_routes(pages: Pages) -> None:
    @pages.get("/login")
    def login_page(request: Request, next: str | None = None, bye: str | None = None) -> Response:
        if current_session(request) is not None:
            return RedirectResponse(safe_next(next), status_code=303)
        notice = "You are logged out." if bye else ""
        return login_form(request, safe_next(next), notice=notice)

    @pages.post("/login")
    async def login(request: Request) -> Response:
        form = await read_form(request)
        next_url = safe_next(form.get("next"))
        cookie = request.cookies.get(LOGIN_COOKIE, "")
        presented = form.get("csrf", "")
        if not same_origin(request) or not cookie or not hmac.compare_digest(cookie, presented):
            return login_form(request, next_url, 403, "The login form expired. Please try again.")
        ctx = ui_context(request)
        key = form.get("api_key", "").strip()
        principal = ctx.deps.keys.verify(key)
        if principal is None:
            return login_form(request, next_url, 401, "That API key is not valid or was revoked.")
        session = ctx.sessions.create(principal, key)
        response = RedirectResponse(next_url, status_code=303)
        set_cookie(response, request, SESSION_COOKIE, session.sid, "/ui")
        response.delete_cookie(LOGIN_COOKIE, path="/ui/login")
        return response

    @pages.post("/logout")
    async def logout(request: Request) -> Response:
        form = await read_form(request)
        session = current_session(request)
        if session is not None:
            if not same_origin(request) or not session.csrf_ok(form.get("csrf")):
                return page(
                    request,
                    "error.html",
                    session,
                    status=403,
                    heading="Not logged out",
                    message="The form did not come from this page (CSRF check failed).",
                )
            ui_context(request).sessions.drop(session.sid)
        response = RedirectResponse("/ui/login?bye=1", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/ui")
        return response

    @pages.get("")
    def home() -> Response:
        return RedirectResponse("/ui/search", status_code=303)
