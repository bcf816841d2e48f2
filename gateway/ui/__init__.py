"""The compliance UI, served by the query service at ``/ui``.

Server-rendered Jinja2 pages with a little JavaScript (the time-travel control);
no external assets, so it works offline. Login by API key into a server-side
session; roles and tenant scope exactly as the query API applies them; every page
view and export recorded as an ``audit-viewed`` event. See docs/ui.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from gateway.query.state import StateReader
from gateway.ui.agent_routes import add_agent_routes
from gateway.ui.export_routes import add_export_routes
from gateway.ui.guard import (
    LoginRequired,
    Pages,
    UiContext,
    UiForbidden,
    current_session,
    login_url,
)
from gateway.ui.login_routes import add_login_routes
from gateway.ui.render import STATIC, build_templates, error_page
from gateway.ui.search_routes import add_search_routes
from gateway.ui.sessions import SessionStore

if TYPE_CHECKING:
    from gateway.query.app import AppDeps


def add_ui_routes(app: FastAPI, deps: AppDeps) -> None:
    """Mount the UI on ``app`` at ``/ui`` (its pages stay out of the OpenAPI document)."""
    app.state.ui = UiContext(
        deps=deps,
        sessions=SessionStore(),
        templates=build_templates(),
        reader=StateReader(deps.store),
    )
    pages = Pages(app)
    add_login_routes(pages)
    add_search_routes(pages)
    add_agent_routes(pages)
    add_export_routes(pages)
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")

    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return RedirectResponse(login_url(exc.next_url), status_code=303)

    async def forbidden(request: Request, exc: Exception) -> Response:
        return error_page(request, current_session(request), 403, "Not allowed", str(exc))

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(UiForbidden, forbidden)
