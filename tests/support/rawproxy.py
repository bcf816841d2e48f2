"""Raw-socket clients for the proxy: byte-exact requests no well-behaved library sends.

``RawProxy(port, task)`` speaks to the proxy with the task's credentials:

- ``plain(head, body)``: a plain-HTTP proxy request (absolute-form), returns ``Reply``;
- ``tunnel(host, port)``: CONNECT; returns the CONNECT ``Reply`` and the open socket;
- ``https(host, port, head, sni=...)``: a request through a TLS tunnel with any SNI;
- ``h2(host, port, authorities)``: one HTTP/2 connection, one stream per authority.

Every request head is sent exactly as given (``\\n`` is not rewritten); the proxy's
``Proxy-Authorization`` is added where a proxy needs it.
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any

import h2.config
import h2.connection
import h2.events

TIMEOUT = 10.0


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names; the last value wins
    body: bytes
    raw: bytes = b""

    def json(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed

    @property
    def denied(self) -> bool:
        return self.headers.get("x-airlock-decision") == "deny"


def parse_reply(raw: bytes) -> Reply:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/"):
        return Reply(0, {}, b"", raw)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = headers.get("content-length")
    return Reply(int(lines[0].split()[1]), headers, body[: int(length)] if length else body, raw)


def read_all(sock: socket.socket, timeout: float = TIMEOUT) -> bytes:
    """Everything until the peer closes (or a whole Content-Length body, or timeout)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            if _complete(data):
                break
    except (TimeoutError, ssl.SSLError, ConnectionResetError):
        pass
    return data


def _complete(data: bytes) -> bool:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return False


@dataclass
class RawProxy:
    port: int
    task: dict[str, Any]
    opened: list[socket.socket] = field(default_factory=list)

    @property
    def authorization(self) -> str:
        user, _, rest = self.task["proxy_url"].removeprefix("http://").partition(":")
        token = rest.rsplit("@", 1)[0]
        return "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT)
        self.opened.append(sock)
        return sock

    def plain(self, head: str, body: bytes = b"") -> Reply:
        """``head`` without its final blank line; Proxy-Authorization is appended."""
        sock = self.connect()
        sock.sendall(f"{head}\r\nProxy-Authorization: {self.authorization}\r\n\r\n".encode())
        sock.sendall(body)
        return parse_reply(read_all(sock))

    def tunnel(self, host: str, port: int) -> tuple[Reply, socket.socket]:
        sock = self.connect()
        target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        sock.sendall(
            f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
            f"Proxy-Authorization: {self.authorization}\r\n\r\n".encode()
        )
        head = b""
        sock.settimeout(TIMEOUT)
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(1)
            if not chunk:
                break
            head += chunk
        reply = parse_reply(head)
        if reply.status != 200:
            reply = parse_reply(head + read_all(sock))
        return reply, sock

    def tls(
        self, host: str, port: int, sni: str | None, alpn: list[str] | None = None
    ) -> ssl.SSLSocket:
        reply, sock = self.tunnel(host, port)
        assert reply.status == 200, reply.raw
        ctx = ssl.create_default_context(cafile=self.task["ca_cert"])
        ctx.check_hostname = False  # the SNI under test may differ from the tunnel
        if alpn:
            ctx.set_alpn_protocols(alpn)
        wrapped = ctx.wrap_socket(sock, server_hostname=sni)
        self.opened.append(wrapped)
        return wrapped

    def https(self, host: str, port: int, head: str, sni: str | None, body: bytes = b"") -> Reply:
        sock = self.tls(host, port, sni)
        sock.sendall(f"{head}\r\n\r\n".encode() + body)
        return parse_reply(read_all(sock))

    def h2(self, host: str, port: int, authorities: list[str], path: str = "/echo") -> list[Reply]:
        """One HTTP/2 connection in a tunnel to host:port; a GET per authority, in turn."""
        sock = self.tls(host, port, host, alpn=["h2"])
        assert sock.selected_alpn_protocol() == "h2"
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        conn.initiate_connection()
        sock.sendall(conn.data_to_send())
        return [_h2_get(sock, conn, authority, path) for authority in authorities]

    def close(self) -> None:
        for sock in self.opened:
            sock.close()
        self.opened.clear()


def _h2_get(
    sock: ssl.SSLSocket, conn: h2.connection.H2Connection, authority: str, path: str
) -> Reply:
    stream = conn.get_next_available_stream_id()
    conn.send_headers(
        stream,
        [(":method", "GET"), (":scheme", "https"), (":authority", authority), (":path", path)],
        end_stream=True,
    )
    sock.sendall(conn.data_to_send())
    status, headers, body = 0, {}, b""
    sock.settimeout(TIMEOUT)
    while True:
        data = sock.recv(65536)
        if not data:
            break
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived) and event.stream_id == stream:
                pairs = [(k.decode() if isinstance(k, bytes) else k, v) for k, v in event.headers]
                headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in pairs}
                status = int(headers.pop(":status"))
            elif isinstance(event, h2.events.DataReceived) and event.stream_id == stream:
                body += event.data
                conn.acknowledge_received_data(event.flow_controlled_length, stream)
            elif isinstance(event, h2.events.StreamEnded) and event.stream_id == stream:
                sock.sendall(conn.data_to_send())
                return Reply(status, headers, body)
        sock.sendall(conn.data_to_send())
    return Reply(status, headers, body)
