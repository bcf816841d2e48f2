"""Write one durable audit event per request before the client sees the answer.

Non-streamed responses are recorded in ``response`` (the client gets nothing
until the event is fsync'd). Streamed responses (server-sent events, large or
unsized bodies) are recorded in ``responseheaders`` before the first byte goes
out, and an ``http-stream-end`` event adds the final byte count.
"""

from __future__ import annotations

import logging

from mitmproxy import http

from addons.state import record
from gateway.egress.verdict import deny_body, refusal
from gateway.errors import SpoolError
from gateway.runtime import ProxyRuntime

log = logging.getLogger("airlock.audit")


async def audit_now(runtime: ProxyRuntime, flow: http.HTTPFlow, kind: str) -> bool:
    rec = record(flow)
    if not rec.bytes_out and flow.request.raw_content:
        rec.bytes_out = len(flow.request.raw_content)
    gateway_id = runtime.settings.gateway_id
    events = [
        rec.event(kind, gateway_id),
        *rec.credential_events(gateway_id),
        *rec.finding_events(gateway_id),
    ]
    if rec.unscannable and kind != "http-stream-end":
        events.append(rec.event("body-unscannable", gateway_id, reason=rec.unscannable))
    try:
        for event in events:
            await runtime.spool.append(event)
        return True
    except SpoolError as exc:
        log.error("audit spool refused an event: %s", exc)
        return False


async def audit_findings(runtime: ProxyRuntime, flow: http.HTTPFlow) -> None:
    """Record findings made after the request's own event (e.g. in WebSocket messages)."""
    for event in record(flow).finding_events(runtime.settings.gateway_id):
        try:
            await runtime.spool.append(event)
        except SpoolError as exc:
            log.error("audit spool refused a finding: %s", exc)


class Audit:
    def __init__(self, runtime: ProxyRuntime) -> None:
        self._runtime = runtime
        self.unrecorded = 0

    async def responseheaders(self, flow: http.HTTPFlow) -> None:
        """Streamed responses (chosen by the Redaction addon) are recorded now."""
        assert flow.response is not None
        rec = record(flow)
        flow.response.headers["X-Airlock-Request-Id"] = rec.request_id
        inner = flow.response.stream
        if not inner:
            return
        rec.status = flow.response.status_code
        rec.streamed = True

        def count(chunk: bytes) -> bytes | list[bytes]:
            rec.bytes_in += len(chunk)
            if not callable(inner):
                return chunk
            out = inner(chunk)
            return out if isinstance(out, bytes) else list(out)  # [] means "nothing yet"

        flow.response.stream = count
        if not await audit_now(self._runtime, flow, "http-request"):
            self.unrecorded += 1
            flow.kill()  # never let traffic through unrecorded

    async def response(self, flow: http.HTTPFlow) -> None:
        assert flow.response is not None
        rec = record(flow)
        if rec.streamed:
            await audit_now(self._runtime, flow, "http-stream-end")
            return
        rec.status = flow.response.status_code
        rec.bytes_in = len(flow.response.raw_content or b"")
        if not await audit_now(self._runtime, flow, rec.kind):
            self.unrecorded += 1
            verdict = refusal("audit_unavailable", "audit spool cannot record this request")
            flow.response = http.Response.make(
                503,
                deny_body(verdict, rec.request_id),
                {"Content-Type": "application/json", "X-Airlock-Decision": "deny"},
            )

    async def error(self, flow: http.HTTPFlow) -> None:
        rec = record(flow)
        rec.error = flow.error.msg if flow.error else "unknown error"
        if rec.streamed:
            await audit_now(self._runtime, flow, "http-stream-end")
            return
        rec.status = rec.status or 502
        await audit_now(self._runtime, flow, "http-request")
