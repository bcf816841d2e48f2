"""Shared plumbing for the loopback test servers.

``LoopbackServer`` runs a ``ThreadingHTTPServer`` (HTTP/1.1, keep-alive) on
127.0.0.1 with an ephemeral port, optionally wrapped in TLS, in a daemon thread.
Subclasses set ``handler_class`` to a ``BaseHandler`` subclass implementing
``route()``.  Every request is recorded as a ``RecordedRequest``.
"""

from __future__ import annotations

import base64
import shutil
import socket
import ssl
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple, Self

from tests.support.tls import ServerCert, TestCA, server_context

__all__ = ["BaseHandler", "LoopbackServer", "RecordedRequest"]


class RecordedRequest(NamedTuple):
    method: str
    path: str  # raw request target, including the query string
    headers: list[tuple[str, str]]  # as received, order and case preserved


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, handler: type[BaseHandler], ctx: ssl.SSLContext | None, owner: LoopbackServer
    ) -> None:
        self.ssl_ctx, self.owner = ctx, owner
        super().__init__((owner.bind_host, 0), handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        if self.ssl_ctx is not None:  # handshake later, in the worker thread
            sock = self.ssl_ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def finish_request(self, request: Any, client_address: Any) -> None:
        if isinstance(request, ssl.SSLSocket):
            try:
                request.settimeout(10)
                request.do_handshake()
            except (OSError, ssl.SSLError):
                return  # bad client / client rejected our cert: just drop it
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):  # resets, broken pipes, timeouts
            return
        super().handle_error(request, client_address)


class BaseHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 handler: records each request, then calls ``route()``."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes; without TCP_NODELAY every
    # keep-alive response waits ~40 ms for the peer's delayed ACK.
    disable_nagle_algorithm = True
    timeout = 30  # idle keep-alive connections are dropped after this
    server: _Server

    def route(self) -> None:  # pragma: no cover - overridden
        self.send_bytes(404, b"not found\n", "text/plain")

    def _dispatch(self) -> None:
        self.server.owner._record(
            RecordedRequest(self.command, self.path, list(self.headers.items()))
        )
        required = self.server.owner.require_basic
        if required is not None:
            expected = "Basic " + base64.b64encode(f"{required[0]}:{required[1]}".encode()).decode()
            if self.headers.get("Authorization", "") != expected:
                self.read_body()
                self.send_bytes(
                    401,
                    b"authentication required\n",
                    "text/plain",
                    {"WWW-Authenticate": 'Basic realm="test"'},
                )
                return
        self.route()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def read_body(self) -> bytes:
        """The request body, de-chunked if ``Transfer-Encoding: chunked``."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline(65537)  # CRLF after each chunk
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_bytes(
        self,
        status: int,
        body: bytes = b"",
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Send a complete response with ``Content-Length`` (keep-alive safe)."""
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        no_body = status in (204, 304) or 100 <= status < 200
        if not no_body:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and not no_body:
            self.wfile.write(body)


class LoopbackServer:
    """Base for the test servers: start()/stop() or use as a context manager."""

    handler_class: type[BaseHandler] = BaseHandler
    bind_host = "127.0.0.1"  # set before start() to listen elsewhere (e.g. a veth address)

    def __init__(
        self,
        tls: TestCA | ServerCert | None = None,
        *,
        host_name: str = "localhost",
        cert_dir: Path | None = None,
    ) -> None:
        """``tls``: a ``TestCA`` (a localhost cert is issued into ``cert_dir`` or a
        temp dir), an existing ``(cert_path, key_path)``, or ``None`` for plain HTTP."""
        self._tls, self._cert_dir, self.host_name = tls, cert_dir, host_name
        self._tmp: str | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.require_basic: tuple[str, str] | None = None  # (user, password) to demand
        self.aws_keys: tuple[str, str] = ("", "")  # the real keys an /aws/ route accepts
        self._requests: list[RecordedRequest] = []

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> Self:
        if self._server is not None:
            return self
        ctx = None
        if isinstance(self._tls, TestCA):
            if self._cert_dir is None:
                self._tmp = tempfile.mkdtemp(prefix="airlock-upstream-")
            cert = self._tls.issue(
                Path(self._cert_dir or self._tmp or "."),
                names=list(dict.fromkeys([self.host_name, "localhost"])),
                stem=f"{type(self).__name__.lower()}-{id(self):x}",
            )
            ctx = server_context(cert)
        elif self._tls is not None:
            ctx = server_context(self._tls)
        self._server = _Server(self.handler_class, ctx, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("server not started")
        return int(self._server.server_address[1])

    @property
    def scheme(self) -> str:
        return "http" if self._tls is None else "https"

    @property
    def url(self) -> str:
        """Base URL using ``host_name`` (``localhost``), e.g. https://localhost:PORT"""
        return f"{self.scheme}://{self.host_name}:{self.port}"

    @property
    def ip_url(self) -> str:
        """Base URL using the literal 127.0.0.1 address."""
        return f"{self.scheme}://127.0.0.1:{self.port}"

    # -- request log -------------------------------------------------------
    def _record(self, req: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(req)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Snapshot (copy) of requests seen so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()
