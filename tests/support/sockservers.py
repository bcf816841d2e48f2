"""Small loopback servers for the adversarial tests.

``TcpServer(bind, reply=...)``: accepts TCP connections and records every byte it
receives per connection; ``reply="echo"`` echoes them back, ``reply=LABEL``
answers each connection with one HTTP response whose body is ``LABEL`` (so a test
can tell which of several servers on one port got a request). Binds any loopback
address (``127.0.0.2`` too) and any port.

``WsEcho(tls=ca)``: a WebSocket echo server (``wss://localhost:PORT/...``).
"""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path
from types import TracebackType
from typing import Self

from websockets.sync.server import Server, ServerConnection, serve

from tests.support.tls import TestCA, server_context


class TcpServer:
    def __init__(self, bind: tuple[str, int] = ("127.0.0.1", 0), reply: str = "echo") -> None:
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(bind)
        self._sock.listen()
        self._reply = reply
        self._lock = threading.Lock()
        self.received: list[bytes] = []  # one entry per accepted connection
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._sock.getsockname()[:2]
        return str(host), int(port)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self.received.append(b"")
                index = len(self.received) - 1
            threading.Thread(target=self._handle, args=(conn, index), daemon=True).start()

    def _handle(self, conn: socket.socket, index: int) -> None:
        conn.settimeout(10)
        with conn:
            try:
                while chunk := conn.recv(65536):
                    with self._lock:
                        self.received[index] += chunk
                    if self._reply == "echo":
                        conn.sendall(chunk)
                    elif b"\r\n\r\n" in self.received[index]:
                        body = self._reply.encode()
                        conn.sendall(
                            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                        )
                        return
            except OSError:
                return

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._sock.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class WsEcho:
    def __init__(self, tls: TestCA, cert_dir: Path) -> None:
        cert = tls.issue(cert_dir, names=["localhost"], stem="ws-echo")
        ctx: ssl.SSLContext = server_context(cert)
        self._server: Server = serve(self._echo, "127.0.0.1", 0, ssl=ctx, compression=None)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.paths: list[str] = []

    @property
    def port(self) -> int:
        return int(self._server.socket.getsockname()[1])

    def _echo(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        self.paths.append(ws.request.path)
        for message in ws:
            ws.send(message)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
