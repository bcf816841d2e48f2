"""Find secrets in both directions; redact, block or alert as the policy says.

Order in the chain: after Policy (the verdict carries the modes), before Audit.
Request headers and URL at ``requestheaders``; request bodies at ``request``, or as
they stream for large and chunked uploads; response headers and streamed bodies at
``responseheaders``; buffered response bodies at ``response``.
"""

from __future__ import annotations

import asyncio
import re

from mitmproxy import http

from addons.audit import audit_findings
from addons.state import record, refuse
from gateway.egress.content import BodyTooLarge, UnsupportedEncoding
from gateway.egress.known_sync import KnownSync
from gateway.egress.secrets import SecretGuard, SecretHit, StreamScan
from gateway.egress.verdict import refusal
from gateway.redaction import is_binary_content_type
from gateway.runtime import ProxyRuntime

URL_MARKER = re.compile(r"\[(REDACTED:[a-z0-9_]+:fp=[0-9a-f]{8})\]")
ACTIONS = {"redact": "redacted", "block": "blocked", "alert": "alerted"}
KNOWN_REFRESH_SECONDS = 5.0


def url_safe(text: str) -> str:
    """Markers in a URL: brackets percent-encoded so the URL stays valid."""
    return URL_MARKER.sub(r"%5B\1%5D", text)


def is_streamed_upload(request: http.Request, stream_bytes: int) -> bool:
    length = request.headers.get("content-length")
    if length is None:
        return "chunked" in request.headers.get("transfer-encoding", "").lower()
    return length.isdigit() and int(length) > stream_bytes


class Redaction:
    def __init__(self, runtime: ProxyRuntime) -> None:
        self._runtime = runtime
        self._guard: SecretGuard = runtime.secrets
        self._stream_bytes = runtime.settings.stream_bytes
        self._sync_task: asyncio.Task[None] | None = None

    async def running(self) -> None:
        """Load the operator's known secrets now, then keep them in step."""
        if self._runtime.known is None:
            return
        sync = KnownSync(self._guard.redactor, self._runtime.known, self._runtime.credentials)
        await asyncio.to_thread(sync.sync)
        self._sync_task = asyncio.create_task(sync.run(KNOWN_REFRESH_SECONDS))

    def done(self) -> None:
        if self._sync_task is not None:
            self._sync_task.cancel()

    async def websocket_message(self, flow: http.HTTPFlow) -> None:
        """Each WebSocket message is scanned whole, both ways; block drops it."""
        rec = record(flow)
        if flow.websocket is None or rec.verdict is None:
            return
        message = flow.websocket.messages[-1]
        direction = "outbound" if message.from_client else "inbound"
        mode = rec.verdict.secrets_outbound if message.from_client else rec.verdict.secrets_inbound
        data, found = self._guard.redact(message.content)
        if not found:
            return
        hits = [
            SecretHit(f.detector, f.fingerprint, direction, "websocket", f.start, f.known_name)
            for f in found
        ]
        rec.note_hits(hits, ACTIONS.get(mode, "blocked"))
        if mode == "redact":
            message.content = data
        elif mode == "block":
            message.drop()
        await audit_findings(self._runtime, flow)

    # Requests ------------------------------------------------------------------

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        rec = record(flow)
        req = flow.request
        path, _, query = req.path.partition("?")
        new_path, path_hits = self._guard.text(path, "outbound", "path")
        new_query, query_hits = self._guard.text(query, "outbound", "query")
        if path_hits or query_hits:  # the audit trail keeps only the redacted URL, always
            rec.path, rec.query = new_path, new_query
        if flow.response is not None or rec.verdict is None or not rec.verdict.allow:
            rec.note_hits(path_hits + query_hits, "refused")  # tried, and went nowhere
            return
        mode = rec.verdict.secrets_outbound
        headers, hits = self._guard.headers(list(req.headers.items(multi=True)), "outbound")
        hits += path_hits + query_hits
        if hits and not self._act(flow, hits, mode):
            return
        if hits and mode == "redact":
            req.headers = http.Headers(
                [(k.encode(), v.encode("utf-8", "surrogateescape")) for k, v in headers]
            )
            req.path = url_safe(new_path) + (f"?{url_safe(new_query)}" if "?" in req.path else "")
        if mode != "block" and is_streamed_upload(req, self._stream_bytes):
            req.stream = self._stream(flow, req.headers, "outbound", mode)

    def request(self, flow: http.HTTPFlow) -> None:
        rec = record(flow)
        if flow.response is not None or rec.verdict is None or flow.request.stream:
            return
        self._body(flow, flow.request, "outbound", rec.verdict.secrets_outbound)

    # Responses -----------------------------------------------------------------

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        rec = record(flow)
        resp = flow.response
        if resp is None or rec.verdict is None or resp.headers.get("X-Airlock-Decision"):
            return
        mode = rec.verdict.secrets_inbound
        headers, hits = self._guard.headers(list(resp.headers.items(multi=True)), "inbound")
        if hits and mode == "block":
            # Refused once the body is in (a response replaced now would get the body).
            rec.note_hits(hits, "blocked")
            rec.blocked_response = hits
            return
        if hits:
            rec.note_hits(hits, ACTIONS[mode])
        if hits and mode == "redact":
            resp.headers = http.Headers(
                [(k.encode(), v.encode("utf-8", "surrogateescape")) for k, v in headers]
            )
        if self._should_stream(resp):
            if self._guard_applies(resp):
                resp.stream = self._stream(flow, resp.headers, "inbound", mode)
            else:
                resp.stream = True  # binary download: passes through unchanged

    def response(self, flow: http.HTTPFlow) -> None:
        rec = record(flow)
        resp = flow.response
        if resp is None or rec.verdict is None or rec.streamed or resp.stream:
            return
        if resp.headers.get("X-Airlock-Decision"):
            return
        if rec.blocked_response:
            self._refuse_secret(flow, rec.blocked_response)
            return
        self._body(flow, resp, "inbound", rec.verdict.secrets_inbound)

    # Helpers -------------------------------------------------------------------

    def _should_stream(self, response: http.Response) -> bool:
        if "text/event-stream" in response.headers.get("content-type", ""):
            return True
        length = response.headers.get("content-length")
        if length is None or not length.isdigit():
            return response.status_code not in (204, 304)
        return int(length) > self._stream_bytes

    def _guard_applies(self, message: http.Message) -> bool:
        return not is_binary_content_type(message.headers.get("content-type", ""))

    def _stream(
        self, flow: http.HTTPFlow, headers: http.Headers, direction: str, mode: str
    ) -> StreamScan:
        rec = record(flow)
        # A stream cannot be refused once bytes have gone: "block" redacts instead.
        action = "alerted" if mode == "alert" else "redacted"
        scan = StreamScan(
            self._guard,
            direction,
            headers.get("content-encoding"),
            on_hits=lambda hits: rec.note_hits(hits, action),
            apply=mode != "alert",
            framed="text/event-stream" in headers.get("content-type", ""),
        )
        if "content-encoding" in headers:  # the stream goes on decoded
            del headers["content-encoding"]
            headers.pop("content-length", None)
        return scan

    def _body(self, flow: http.HTTPFlow, message: http.Message, direction: str, mode: str) -> None:
        raw = message.raw_content or b""
        try:
            new, hits = self._guard.body(
                raw,
                message.headers.get("content-type", ""),
                message.headers.get("content-encoding"),
                direction,
            )
        except (BodyTooLarge, UnsupportedEncoding) as exc:
            self._unscannable(flow, direction, mode, exc)
            return
        if hits and not self._act(flow, hits, mode):
            return
        if new is not None and mode == "redact":
            message.content = new  # re-encoded per Content-Encoding, length fixed

    def _act(self, flow: http.HTTPFlow, hits: list[SecretHit], mode: str) -> bool:
        """Record the hits; False if the flow was refused (block mode)."""
        rec = record(flow)
        rec.note_hits(hits, ACTIONS.get(mode, "blocked"))
        if mode != "block":
            return True
        self._refuse_secret(flow, hits)
        return False

    def _refuse_secret(self, flow: http.HTTPFlow, hits: list[SecretHit]) -> None:
        rec = record(flow)
        detectors = ", ".join(sorted({h.detector for h in hits}))
        where = "request" if hits[0].direction == "outbound" else "response"
        refuse(
            flow,
            refusal(
                "secret_detected",
                f"the {where} carries a secret ({detectors}); it was not sent",
                f"airlock.secrets.{hits[0].detector}",
                rec.verdict.revision if rec.verdict else "",
            ),
        )

    def _unscannable(self, flow: http.HTTPFlow, direction: str, mode: str, exc: Exception) -> None:
        rec = record(flow)
        rec.unscannable = f"{direction}: {exc}"
        if mode == "alert":
            return
        code = getattr(exc, "code", "body_unscannable")
        refuse(
            flow,
            refusal(code, f"the {direction} body cannot be scanned for secrets: {exc}"),
            status=getattr(exc, "http_status", 403),
        )
