"""The query API (FastAPI). Every error answers ``{"error": CODE, "message": TEXT}``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway import __version__
from gateway.audit.events import AuditEvent
from gateway.audit.retention import RetentionManager
from gateway.audit.shipper import Shipper
from gateway.audit.store import AuditStore
from gateway.control.keys import ApiKeyService, Principal
from gateway.credentials.store import CredentialService
from gateway.errors import AirlockError, NotFoundError
from gateway.query.audit_routes import add_audit_routes
from gateway.query.auth import require, tenant_scope
from gateway.query.events_query import EventFilter, build_query, page, parse_time
from gateway.query.export_feed import add_feed_route
from gateway.query.hold_routes import add_hold_routes
from gateway.query.metrics import build_registry
from gateway.query.state_routes import add_state_routes
from gateway.ui import add_ui_routes


@dataclass
class AppDeps:
    store: AuditStore
    keys: ApiKeyService
    shipper: Shipper
    spool_dir: Path
    credentials: CredentialService | None = None
    audit_keys: dict[str, str] = field(default_factory=dict)  # key id -> public key PEM
    retention: RetentionManager | None = None
    record: Callable[[AuditEvent], None] | None = None  # audits who looked at what
    evidence_margin: float = 300.0
    checkpoint_seconds: float = 30.0  # what verify expects of a chain with no checkpoint yet


class EventsPage(BaseModel):
    events: list[dict[str, Any]]
    next_cursor: str | None


class Sightings(BaseModel):
    fingerprint: str
    sightings: list[dict[str, Any]]
    next_cursor: str | None


class CredentialTrace(BaseModel):
    name: str
    kind: str
    version: int
    status: str
    hosts: list[str]
    fingerprints: list[str]
    grants: list[dict[str, str]]
    events: list[dict[str, Any]]
    sightings: list[dict[str, Any]]


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def create_app(deps: AppDeps) -> FastAPI:
    app = FastAPI(title="Airlock query API", version=__version__)
    app.state.deps = deps
    registry = build_registry(lambda: deps.shipper.stats, deps.spool_dir)

    @app.exception_handler(AirlockError)
    async def _airlock_error(_: Request, exc: AirlockError) -> JSONResponse:
        return error_response(exc.http_status, exc.code, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return error_response(422, "invalid_request", f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.get("/healthz")
    def healthz() -> Health:
        return Health(status="ok")

    @app.get("/readyz", responses={503: {"description": "a dependency is down"}})
    def readyz() -> JSONResponse:
        store_ok = deps.store.ping()
        body = Health(
            status="ok" if store_ok else "unavailable",
            checks={
                "clickhouse": "ok" if store_ok else "down",
                "shipper": deps.shipper.stats.last_error or "ok",
            },
        )
        return JSONResponse(body.model_dump(), status_code=200 if store_ok else 503)

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/events")
    def list_events(
        principal: Annotated[Principal, Depends(require("viewer"))],
        agent: str | None = None,
        task_id: str | None = None,
        host: str | None = None,
        decision: str | None = None,
        kind: str | None = None,
        request_id: str | None = None,
        tenant: str | None = None,
        from_: Annotated[str | None, Query(alias="from")] = None,
        to: str | None = None,
        order: str = "desc",
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        cursor: str | None = None,
    ) -> EventsPage:
        event_filter = EventFilter(
            tenant=tenant_scope(principal, tenant),
            agent=agent,
            task_id=task_id,
            host=host,
            decision=decision,
            kind=kind,
            request_id=request_id,
            since=parse_time(from_, "from") if from_ else None,
            until=parse_time(to, "to") if to else None,
            order=order,
            limit=limit,
            cursor=cursor,
        )
        sql, params = build_query(event_filter)
        events, next_cursor = page(deps.store.query(sql, params), limit)
        return EventsPage(events=events, next_cursor=next_cursor)

    @app.get("/v1/secrets/{fingerprint}/sightings")
    def secret_sightings(
        fingerprint: str,
        principal: Annotated[Principal, Depends(require("auditor"))],
        tenant: str | None = None,
        from_: Annotated[str | None, Query(alias="from")] = None,
        to: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        cursor: str | None = None,
    ) -> Sightings:
        """Where else did this secret appear? Every finding with this fingerprint."""
        event_filter = EventFilter(
            tenant=tenant_scope(principal, tenant),
            kind="secret-finding",
            fingerprint=fingerprint,
            since=parse_time(from_, "from") if from_ else None,
            until=parse_time(to, "to") if to else None,
            limit=limit,
            cursor=cursor,
        )
        sql, params = build_query(event_filter)
        events, next_cursor = page(deps.store.query(sql, params), limit)
        return Sightings(fingerprint=fingerprint.lower(), sightings=events, next_cursor=next_cursor)

    @app.get("/v1/credentials/{name}/trace")
    def credential_trace(
        name: str,
        principal: Annotated[Principal, Depends(require("auditor"))],
        limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
    ) -> CredentialTrace:
        """Which tasks had it, every injection and misuse, every sighting of its values."""
        if deps.credentials is None:
            raise NotFoundError("this store has no credential store")
        info = deps.credentials.get(name)
        fingerprints = deps.credentials.fingerprints(name)
        scope = tenant_scope(principal, None)
        uses = EventFilter(
            tenant=scope,
            credential=name,
            limit=limit,
            kinds=TRACE_KINDS,
        )
        seen = EventFilter(
            tenant=scope, kind="secret-finding", fingerprints=tuple(fingerprints), limit=limit
        )
        events, _ = page(deps.store.query(*build_query(uses)), limit)
        sightings, _ = page(deps.store.query(*build_query(seen)), limit)
        grants = [
            {"task_id": g.task_id, "expires_at": g.expires_at.isoformat()}
            for g in deps.credentials.grants_of(name)
        ]
        return CredentialTrace(
            name=info.name,
            kind=info.kind,
            version=info.version,
            status=info.status,
            hosts=list(info.hosts),
            fingerprints=fingerprints,
            grants=grants,
            events=events,
            sightings=sightings,
        )

    add_feed_route(app)
    add_audit_routes(app, deps.audit_keys, deps.evidence_margin, deps.checkpoint_seconds)
    if deps.retention is not None:
        add_hold_routes(app, deps.retention)
    add_state_routes(app, deps.store, deps.record)
    add_ui_routes(app, deps)
    return app


TRACE_KINDS = (
    "credential-added",
    "credential-rotated",
    "credential-revoked",
    "grant-created",
    "credential-injected",
    "credential-misuse",
)
