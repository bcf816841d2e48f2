"""Audit-proof routes: the published checkpoint key, chain verification, evidence bundles.

Chains are per gateway stream and interleave every tenant's events, so verifying
them and exporting evidence need a key scoped to every tenant (``*``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query
from pydantic import BaseModel, ConfigDict, Field

from gateway.audit.bundle import BundleQuery, build_bundle
from gateway.audit.signing import load_public_pem
from gateway.audit.window import verify_window
from gateway.control.keys import Principal
from gateway.errors import InvalidRequestError, NotFoundError, PermissionDeniedError
from gateway.query.auth import require
from gateway.query.events_query import parse_time


class PublicKey(BaseModel):
    key_id: str
    algorithm: str
    public_key_pem: str


class VerifyReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    ok: bool
    from_: str = Field(alias="from")
    to: str
    events: int
    streams: list[dict[str, Any]]
    problems: list[dict[str, Any]]


def every_tenant(principal: Principal) -> None:
    if principal.tenant != "*":
        raise PermissionDeniedError(
            "audit chains interleave every tenant: this route needs a key with tenant scope '*'"
        )


def window(from_: str, to: str) -> tuple[Any, Any]:
    start, end = parse_time(from_, "from"), parse_time(to, "to")
    if end < start:
        raise InvalidRequestError("'to' is before 'from'")
    return start, end


def add_audit_routes(
    app: FastAPI, audit_keys: dict[str, str], margin: float, checkpoint_seconds: float = 30.0
) -> None:
    @app.get("/v1/audit/pubkey")
    def audit_pubkey(_: Annotated[Principal, Depends(require("viewer"))]) -> PublicKey:
        """The Ed25519 public key that signs audit checkpoints (pin it when verifying)."""
        if not audit_keys:
            raise NotFoundError("no audit signing key is configured")
        key_id, pem = next(iter(audit_keys.items()))
        return PublicKey(key_id=key_id, algorithm="Ed25519", public_key_pem=pem)

    @app.get("/v1/audit/verify")
    def audit_verify(
        principal: Annotated[Principal, Depends(require("auditor"))],
        from_: Annotated[str, Query(alias="from")],
        to: str,
    ) -> VerifyReport:
        """Check every chain with events in the window: hashes, links, signatures, gaps."""
        every_tenant(principal)
        start, end = window(from_, to)
        keys = {kid: load_public_pem(pem) for kid, pem in audit_keys.items()}
        result = verify_window(
            app.state.deps.store, start, end, keys, interval=checkpoint_seconds
        ).as_dict()
        return VerifyReport.model_validate(result)

    @app.get("/v1/audit/bundle")
    def audit_bundle(
        principal: Annotated[Principal, Depends(require("auditor"))],
        agent: str,
        from_: Annotated[str, Query(alias="from")],
        to: str,
        task_id: str | None = None,
        tenant: str | None = None,
    ) -> dict[str, Any]:
        """A self-contained evidence bundle for one agent (and task) in a window."""
        every_tenant(principal)
        start, end = window(from_, to)
        query = BundleQuery(agent=agent, start=start, end=end, task_id=task_id, tenant=tenant)
        return build_bundle(app.state.deps.store, query, audit_keys, margin)
