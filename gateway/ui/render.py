"""Jinja2 templates, their filters, and the headers every UI page carries."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from gateway.ui.sessions import UiSession

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
MARKER = re.compile(  # redaction markers, and query values masked in the record
    r"(?:\[|%5[Bb])REDACTED:[a-z0-9_]{1,64}:fp=[0-9a-f]{8}(?:\]|%5[Dd])|\[MASKED\]"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def when(ts: str | None) -> str:
    """``2026-01-10T00:01:00.123456Z`` → ``2026-01-10 00:01:00.123`` (UTC, to the ms)."""
    if not ts:
        return ""
    text = str(ts).replace("T", " ").rstrip("Z")
    head, dot, frac = text.partition(".")
    return f"{head}.{frac[:3]}" if dot else head


def short(value: str | None, length: int = 8) -> str:
    text = value or ""
    return text if len(text) <= length + 1 else text[:length] + "…"


def redacted(text: str | None) -> Markup:
    """Escape ``text`` and mark every redaction marker in it."""
    out, last = [], 0
    raw = text or ""
    for match in MARKER.finditer(raw):
        out.append(escape(raw[last : match.start()]))
        out.append(Markup('<mark class="redaction">{}</mark>').format(match.group(0)))
        last = match.end()
    out.append(escape(raw[last:]))
    return Markup("").join(out)


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def summary(event: dict[str, Any]) -> str:
    """One line on what an event says, by kind."""
    kind, d = event.get("kind", ""), event.get("detail") or {}
    if kind in ("http-request", "http-stream-end", "task-refused"):
        target = f"{event.get('host', '')}:{event.get('port', '')}" if event.get("host") else ""
        return " ".join(p for p in (event.get("method"), target, event.get("path")) if p)
    if kind == "secret-finding":
        parts = (d.get("detector"), d.get("direction"), d.get("location"), d.get("action"))
        return " · ".join(p for p in parts if p)
    if kind.startswith("credential-") or kind == "grant-created":
        version = f" v{d['version']}" if d.get("version") else ""
        return f"{d.get('credential', '')}{version}"
    if kind.startswith("alert-"):
        return d.get("alert", "")
    if kind == "audit-viewed":
        return f"{d.get('what', '')} by {d.get('by', '')}"
    if kind == "task-created":
        return f"profile {d.get('profile', '')}"
    if kind == "policy-loaded":
        return f"revision {d.get('revision', '')}"
    return ", ".join(f"{k}={v}" for k, v in list(d.items())[:3])


def build_templates() -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, short=short, redacted=redacted, pretty=pretty, summary=summary)
    return Jinja2Templates(env=env)


def page(
    request: Request,
    name: str,
    session: UiSession | None,
    status: int = 200,
    **context: Any,
) -> Response:
    templates: Jinja2Templates = request.app.state.ui.templates
    principal = session.principal if session else None
    return templates.TemplateResponse(
        request,
        name,
        {"principal": principal, "csrf": session.csrf if session else "", **context},
        status_code=status,
        headers=SECURITY_HEADERS,
    )


def error_page(
    request: Request, session: UiSession | None, status: int, heading: str, message: str
) -> Response:
    return page(request, "error.html", session, status, heading=heading, message=message)
