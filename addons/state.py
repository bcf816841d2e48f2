"""Per-flow and per-connection state shared by the Airlock addons."""

from __future__ import annotations

import json

from mitmproxy import http

from gateway.egress.record import FlowRecord
from gateway.egress.verdict import Verdict, deny_body

META_KEY = "airlock"


def record(flow: http.HTTPFlow) -> FlowRecord:
    rec = flow.metadata.get(META_KEY)
    if rec is None:
        rec = FlowRecord()
        flow.metadata[META_KEY] = rec
    return rec


def refuse(flow: http.HTTPFlow, verdict: Verdict, status: int = 403) -> None:
    """Answer the flow with the JSON refusal; nothing goes upstream."""
    rec = record(flow)
    rec.verdict = verdict
    flow.response = http.Response.make(
        status,
        deny_body(verdict, rec.request_id),
        {
            "Content-Type": "application/json",
            "X-Airlock-Decision": "deny",
            "X-Airlock-Request-Id": rec.request_id,
            "Cache-Control": "no-store",
        },
    )


def challenge(flow: http.HTTPFlow, reason: str, message: str) -> None:
    """407: the client must (re)send task credentials."""
    rec = record(flow)
    flow.response = http.Response.make(
        407,
        json.dumps(
            {
                "error": "proxy authentication required",
                "reason": reason,
                "message": message,
                "rule": "airlock.identity.proxy_auth",
                "request_id": rec.request_id,
            }
        ).encode(),
        {
            "Proxy-Authenticate": 'Basic realm="airlock"',
            "Content-Type": "application/json",
            "X-Airlock-Decision": "deny",
            "X-Airlock-Request-Id": rec.request_id,
        },
    )


def describe(flow: http.HTTPFlow) -> None:
    """Copy the request line facts onto the flow record (idempotent)."""
    rec = record(flow)
    req = flow.request
    path, _, query = req.path.partition("?")
    rec.method, rec.scheme, rec.host, rec.port = req.method, req.scheme, req.host, req.port
    rec.path, rec.query = path, query
    rec.bytes_out = len(req.raw_content or b"")
