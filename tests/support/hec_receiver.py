"""A local HTTPS receiver that plays Splunk's HTTP Event Collector.

``POST /services/collector/event`` with ``Authorization: Splunk <token>``; the body is
HEC event objects, concatenated. Answers like Splunk: ``{"text":"Success","code":0}``,
401 code 3 for a bad token, 400 code 6 for a body that is not HEC JSON. ``stop()``
closes the listening socket *and* every open connection, so a stopped receiver looks to
a client exactly like a dead Splunk; ``start()`` again listens on the same port.
"""

from __future__ import annotations

import hmac
import json
import socket
import ssl
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

from tests.support.httpbase import BaseHandler
from tests.support.tls import TestCA, server_context

HEC_PATH = "/services/collector/event"


def parse_hec(body: bytes) -> list[dict[str, Any]]:
    """Concatenated (or newline-separated) JSON objects → list; ValueError if not HEC."""
    decoder, text, out, pos = json.JSONDecoder(), body.decode(), [], 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos == len(text):
            return out
        obj, pos = decoder.raw_decode(text, pos)
        if not isinstance(obj, dict) or "event" not in obj:
            raise ValueError("not a HEC event object")
        out.append(obj)


def hec_event_id(obj: dict[str, Any]) -> str:
    """The Airlock event id of one HEC object (indexed field, else inside the event)."""
    fields = obj.get("fields") or {}
    event = obj.get("event")
    return str(fields.get("event_id") or (event.get("event_id") if isinstance(event, dict) else ""))


class _HecHandler(BaseHandler):
    server: _HecServer

    def route(self) -> None:
        owner = self.server.owner
        body = self.read_body()
        if self.command != "POST" or self.path.split("?")[0] != HEC_PATH:
            self._answer(404, "Not Found", 404)
            return
        given = self.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Splunk {owner.token}".encode()):
            self._answer(401, "Invalid authorization", 3)
            return
        if owner.fail_status:
            self._answer(owner.fail_status, "Server is busy", 9)
            return
        try:
            events = parse_hec(body)
        except ValueError:
            self._answer(400, "Invalid data format", 6)
            return
        owner.accept(events)
        self._answer(200, "Success", 0)

    def _answer(self, status: int, text: str, code: int) -> None:
        payload = json.dumps({"text": text, "code": code}).encode()
        self.send_bytes(status, payload, "application/json")


class _HecServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, ctx: ssl.SSLContext, owner: HecReceiver) -> None:
        self.ctx, self.owner = ctx, owner
        super().__init__(("127.0.0.1", port), _HecHandler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        wrapped = self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        self.owner.track(wrapped)
        return wrapped, addr

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            request.settimeout(10)
            request.do_handshake()
        except (OSError, ssl.SSLError):
            return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # resets and aborted handshakes are expected when a client gives up


class HecReceiver:
    require_basic = None  # read by BaseHandler

    def __init__(self, ca: TestCA, cert_dir: Path, token: str, port: int = 0) -> None:
        self.token, self.port = token, port
        self.cert = ca.issue(cert_dir, stem="hec")
        self.fail_status = 0  # answer every request with this status when set
        self.events: list[dict[str, Any]] = []
        self.requests = 0
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._server: _HecServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}{HEC_PATH}"

    def start(self) -> Self:
        self._server = _HecServer(self.port, server_context(self.cert), self)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        with self._lock:
            socks, self._socks = self._socks, []
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        if self._thread is not None:
            self._thread.join(5)

    def _record(self, request: object) -> None:
        pass  # BaseHandler's request log; this receiver keeps events instead

    def track(self, sock: socket.socket) -> None:
        with self._lock:
            self._socks.append(sock)

    def accept(self, events: list[dict[str, Any]]) -> None:
        with self._lock:
            self.requests += 1
            self.events.extend(events)

    def event_ids(self) -> list[str]:
        with self._lock:
            return [hec_event_id(e) for e in self.events]
