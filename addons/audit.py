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
    try:
        await runtime.spool.append(rec.event(kind, runtime.settings.gateway_id))
        return True
    except SpoolError as exc:
        log.error("audit spool refused an event: %s", exc)
        return False


class Audit:
    def __init__(self, runtime: ProxyRuntime) -> None:
        self._runtime = runtime
        self._stream_bytes = runtime.settings.stream_bytes
        self.unrecorded = 0

    def _should_stream(self, response: http.Response) -> bool:
        if "text/event-stream" in response.headers.get("content-type", ""):
            return True
        length = response.headers.get("content-length")
        if length is None or not length.isdigit():
            return response.status_code != 204 and response.status_code != 304
        return int(length) > self._stream_bytes

    async def responseheaders(self, flow: http.HTTPFlow) -> None:
        assert flow.response is not None
        rec = record(flow)
        flow.response.headers["X-Airlock-Request-Id"] = rec.request_id
        if flow.response.headers.get("X-Airlock-Decision") or not self._should_stream(
            flow.response
        ):
            return
        rec.status = flow.response.status_code
        rec.streamed = True

        def count(chunk: bytes) -> bytes:
            rec.bytes_in += len(chunk)
            return chunk

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
