"""Who is asking: the UI session behind a request, its role, CSRF and origin checks,
and the ``audit-viewed`` record of every page it sees."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.templating import Jinja2Templates
from fastapi.types import DecoratedCallable

from gateway.audit.events import AuditEvent
from gateway.query.state import StateReader
from gateway.ui.sessions import SESSION_COOKIE, SessionStore, UiSession

if TYPE_CHECKING:
    from gateway.query.app import AppDeps

MAX_FORM_BYTES = 16 * 1024


@dataclass
class UiContext:
    deps: AppDeps
    sessions: SessionStore
    templates: Jinja2Templates
    reader: StateReader


class LoginRequired(Exception):
    """No live session: answered by a redirect to the login page."""

    def __init__(self, next_url: str) -> None:
        super().__init__("login required")
        self.next_url = next_url


class UiForbidden(Exception):
    """A live session without the right: answered by an HTML 403 page."""


def ui_context(request: Request) -> UiContext:
    ctx: UiContext = request.app.state.ui
    return ctx


def current_session(request: Request) -> UiSession | None:
    """The request's session if its API key is still valid (checked on every request)."""
    ctx = ui_context(request)
    session = ctx.sessions.get(request.cookies.get(SESSION_COOKIE))
    if session is None:
        return None
    principal = ctx.deps.keys.verify(session.key)
    if principal is None:  # revoked since login
        ctx.sessions.drop(session.sid)
        return None
    session.principal = principal
    return session


def require_ui(role: str) -> Callable[[Request], UiSession]:
    """A dependency: the caller's live session, if its key has ``role``."""

    def dependency(request: Request) -> UiSession:
        session = current_session(request)
        if session is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(target)
        if not session.principal.has_role(role):
            raise UiForbidden(
                f"This page needs the {role} role; your key has the {session.principal.role} role."
            )
        return session

    return dependency


def login_url(next_url: str) -> str:
    return f"/ui/login?next={quote(next_url, safe='')}"


def safe_next(value: str | None) -> str:
    """Only a path inside the UI: never an open redirect to another site."""
    if value and value.startswith("/ui/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/ui/search"


def same_origin(request: Request) -> bool:
    """A POST from one of our own pages.

    Browsers send ``Sec-Fetch-Site``, which page scripts cannot set; without it, the
    ``Origin`` host must be ours (hosts, not schemes, so a TLS-terminating reverse
    proxy still works). A request with neither comes from no browser.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host", "")


async def read_form(request: Request) -> dict[str, str]:
    """A small urlencoded form (the UI's forms carry a few short fields)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def viewed(ctx: UiContext, session: UiSession, what: str, **params: str | None) -> None:
    """Record who looked at what (``audit-viewed``) before the page is shown.

    What was looked at goes in ``detail`` only, never in the event's own agent, task or
    request columns: a view is not an action of the agent, and must not show up in its
    timeline, its flows or a search for its events.
    """
    if ctx.deps.record is None:
        return
    principal = session.principal
    given = {k: v for k, v in params.items() if v}
    ctx.deps.record(
        AuditEvent(
            kind="audit-viewed",
            tenant="" if principal.tenant == "*" else principal.tenant,
            detail={
                "what": what,
                "by": principal.key_id,
                "role": principal.role,
                "via": "ui",
                **given,
            },
        )
    )


class Pages:
    """Registers UI pages on the app itself under ``/ui``, out of the OpenAPI document.

    (Directly on the app rather than through ``include_router``, so that the pages are
    listed in ``app.routes`` like every other route, and the docs test sees them.)
    """

    PREFIX = "/ui"

    def __init__(self, app: FastAPI) -> None:
        self._app = app

    def get(self, path: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self._app.get(self.PREFIX + path, include_in_schema=False)

    def post(self, path: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self._app.post(self.PREFIX + path, include_in_schema=False)


Viewer = Annotated[UiSession, Depends(require_ui("viewer"))]
Auditor = Annotated[UiSession, Depends(require_ui("auditor"))]
