"""Evidence export: the ``airlock-evidence/1`` bundle for keys scoped to every tenant,
else the events as CSV or JSON (a single tenant cannot be handed chains that
interleave other tenants' events)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from gateway.audit.bundle import BundleQuery, build_bundle
from gateway.errors import AirlockError, InvalidRequestError
from gateway.query.audit_routes import every_tenant, window
from gateway.query.auth import tenant_scope
from gateway.query.events_query import EventFilter
from gateway.ui import exports, queries
from gateway.ui.agent_routes import iso_z
from gateway.ui.guard import (
    Auditor,
    Pages,
    UiContext,
    read_form,
    same_origin,
    ui_context,
    viewed,
)
from gateway.ui.render import SECURITY_HEADERS, error_page, page
from gateway.ui.sessions import UiSession

FORMATS = ("bundle", "csv", "json")
INPUT_TIME = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class ExportForm:
    agent: str = ""
    task: str = ""
    from_: str = ""
    to: str = ""
    format: str = ""

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> ExportForm:
        names = ("agent", "task", "from", "to", "format")
        return cls(*(fields.get(name, "").strip() for name in names))


def defaults(ctx: UiContext, session: UiSession, agent: str, task: str) -> ExportForm:
    """The agent's whole recorded span if known, else the last hour."""
    scope = tenant_scope(session.principal, None)
    span = queries.agent_span(ctx.deps.store, agent, scope) if agent else None
    now = datetime.now(UTC)
    start = span.first if span else (now - timedelta(hours=1)).strftime(INPUT_TIME)
    end_time = datetime.fromisoformat(span.last) + timedelta(seconds=1) if span else now
    fmt = "bundle" if session.principal.tenant == "*" else "csv"
    return ExportForm(agent, task, start[:19] + "Z", end_time.strftime(INPUT_TIME), fmt)


def export_page(
    request: Request, session: UiSession, form: ExportForm, status: int = 200, error: str = ""
) -> Response:
    return page(
        request,
        "export.html",
        session,
        status,
        active="export",
        form=form,
        error=error,
        can_bundle=session.principal.tenant == "*",
        cap=f"{queries.EXPORT_CAP:,}",
    )


def download(ctx: UiContext, session: UiSession, form: ExportForm) -> Response:
    if not form.agent:
        raise InvalidRequestError("name the agent whose evidence to export")
    if form.format not in FORMATS:
        raise InvalidRequestError(f"invalid format {form.format!r}: bundle, csv or json")
    start, end = window(form.from_, form.to)
    if form.format == "bundle":
        every_tenant(session.principal)
    scope = tenant_scope(session.principal, None)
    window_params = {"from": iso_z(start), "to": iso_z(end)}
    viewed(ctx, session, "ui-export", agent=form.agent, task_id=form.task, format=form.format,
           **window_params)  # fmt: skip
    if form.format == "bundle":
        query = BundleQuery(agent=form.agent, start=start, end=end, task_id=form.task or None)
        bundle = build_bundle(ctx.deps.store, query, ctx.deps.audit_keys, ctx.deps.evidence_margin)
        return attachment(
            json.dumps(bundle, indent=1).encode(),
            "application/json",
            exports.filename("airlock-evidence", form.agent, start, "json"),
        )
    wanted = EventFilter(
        tenant=scope,
        agent=form.agent,
        task_id=form.task or None,
        since=start,
        until=end + timedelta(microseconds=1),  # inclusive, as the bundle's window is
    )
    events, cut = queries.export_events(ctx.deps.store, wanted)
    name = exports.filename("airlock-events", form.agent, start, form.format)
    if form.format == "csv":
        return attachment(exports.to_csv(events).encode(), "text/csv; charset=utf-8", name)
    described = {"agent": form.agent, "task_id": form.task or None, "tenant": scope}
    body = exports.to_json(events, {**described, **window_params}, session.principal.key_id, cut)
    return attachment(body, "application/json", name)


def attachment(body: bytes, media_type: str, name: str) -> Response:
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, media_type=media_type, headers=headers)


def add_export_routes(pages: Pages) -> None:
    @pages.get("/export")
    def export_form(
        request: Request, session: Auditor, agent: str = "", task: str = ""
    ) -> Response:
        ctx = ui_context(request)
        viewed(ctx, session, "ui-export-form", agent=agent, task_id=task)
        return export_page(request, session, defaults(ctx, session, agent.strip(), task.strip()))

    @pages.post("/export")
    async def export(request: Request, session: Auditor) -> Response:
        fields = await read_form(request)
        if not same_origin(request) or not session.csrf_ok(fields.get("csrf")):
            message = "The form did not come from this page (CSRF check failed). Reload it."
            return error_page(request, session, 403, "Export refused", message)
        form = ExportForm.from_fields(fields)
        try:
            return await run_in_threadpool(download, ui_context(request), session, form)
        except AirlockError as exc:
            return export_page(request, session, form, exc.http_status, str(exc))
