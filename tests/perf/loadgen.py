"""Keep-alive HTTP/1.1 load generators for the proxy benchmark.

Two clients speak the same minimal HTTP/1.1 on raw sockets (no client library,
so the client adds as little CPU and jitter as possible on a 2-core machine):

* ``latency`` -- ONE sequential blocking client (``socket`` + ``ssl``) on one
  keep-alive connection; returns each request's wall time.
* ``throughput`` -- C concurrent keep-alive connections driven by ONE asyncio
  event loop (not threads: no GIL hand-offs), sharing a fixed number of requests.

Both reach the upstream directly, or through a proxy: plain HTTP uses
absolute-form requests (``GET http://localhost:P/ HTTP/1.1`` with
``Proxy-Authorization`` on every request); HTTPS sends one ``CONNECT``, then TLS
and origin-form keep-alive requests inside the tunnel. Responses must carry
``Content-Length`` (the fast upstream and mitmproxy both send it).
"""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

__all__ = ["Target", "ThroughputResult", "latency", "throughput"]

HOST = "localhost"  # name in URLs / SNI; sockets go to 127.0.0.1


@dataclass(frozen=True)
class Target:
    """Where requests go: upstream ``port`` on ``localhost``, optionally via a proxy."""

    port: int
    tls: bool
    ca: Path  # the CA the client must trust for the TLS it sees (upstream's or proxy's)
    proxy: tuple[str, int] | None = None
    proxy_auth: str | None = None  # "user:password"

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca))
        ctx.set_alpn_protocols(["http/1.1"])
        return ctx

    def _auth_header(self) -> bytes:
        if not self.proxy_auth:
            return b""
        token = base64.b64encode(self.proxy_auth.encode()).decode()
        return f"Proxy-Authorization: Basic {token}\r\n".encode()

    def connect_request(self) -> bytes | None:
        if not (self.proxy and self.tls):
            return None
        authority = f"{HOST}:{self.port}"
        return (
            f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n".encode()
            + self._auth_header()
            + b"\r\n"
        )

    def request(self) -> bytes:
        authority = f"{HOST}:{self.port}"
        absolute = self.proxy is not None and not self.tls
        target = f"http://{authority}/bench" if absolute else "/bench"
        head = (
            f"GET {target} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: airlock-bench\r\n"
            "Accept: */*\r\n"
        ).encode()
        return head + (self._auth_header() if absolute else b"") + b"\r\n"

    def address(self) -> tuple[str, int]:
        return self.proxy or ("127.0.0.1", self.port)


def _parse_head(head: bytes) -> tuple[int, int, bool]:
    """``(status, content_length, connection_close)`` of a response head."""
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, close = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"connection" and b"close" in value.lower():
            close = True
    return status, length, close


# Sequential blocking client (latency) ------------------------------------------


class _SyncConnection:
    def __init__(self, target: Target, timeout: float) -> None:
        self.target, self.timeout = target, timeout
        self.req = target.request()
        self.ctx = target.ssl_context() if target.tls else None
        self.sock: socket.socket | None = None
        self.f: BinaryIO | None = None

    def open(self) -> None:
        sock = socket.create_connection(self.target.address(), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connect = self.target.connect_request()
        if connect is not None:
            sock.sendall(connect)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = sock.recv(4096)
                if not chunk:
                    raise ConnectionError("proxy closed the connection during CONNECT")
                head += chunk
            status = _parse_head(head.split(b"\r\n\r\n", 1)[0])[0]
            if status != 200:
                raise ConnectionError(f"CONNECT answered {status}: {head[:300]!r}")
        if self.ctx is not None:
            sock = self.ctx.wrap_socket(sock, server_hostname=HOST)
        self.sock, self.f = sock, sock.makefile("rb")

    def close(self) -> None:
        for thing in (self.f, self.sock):
            if thing is not None:
                thing.close()
        self.sock = self.f = None

    def request(self) -> int:
        if self.sock is None:
            self.open()
        assert self.sock is not None and self.f is not None
        self.sock.sendall(self.req)
        head = b""
        while True:
            line = self.f.readline(65536)
            if not line:
                raise ConnectionError("connection closed before a response")
            if line == b"\r\n":
                break
            head += line
        status, length, close = _parse_head(head.rstrip(b"\r\n"))
        if length and len(self.f.read(length)) != length:
            raise ConnectionError("short response body")
        if close:
            self.close()
        return status


def latency(target: Target, n: int, timeout: float = 30) -> tuple[list[float], Counter[int]]:
    """``n`` sequential requests on one keep-alive connection: (seconds each, statuses)."""
    conn = _SyncConnection(target, timeout)
    times: list[float] = []
    statuses: Counter[int] = Counter()
    try:
        conn.open()  # the handshake is not part of any request's latency
        for _ in range(n):
            t0 = time.perf_counter()
            status = conn.request()
            times.append(time.perf_counter() - t0)
            statuses[status] += 1
    finally:
        conn.close()
    return times, statuses


# Concurrent asyncio client (throughput) -------------------------------------------


@dataclass
class ThroughputResult:
    requests: int
    seconds: float
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


async def _aopen(target: Target) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = target.address()
    reader, writer = await asyncio.open_connection(host, port)
    writer.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    connect = target.connect_request()
    if connect is not None:
        writer.write(connect)
        status = _parse_head((await reader.readuntil(b"\r\n\r\n"))[:-4])[0]
        if status != 200:
            raise ConnectionError(f"CONNECT answered {status}")
    if target.tls:
        ctx = target.ssl_context()
        if connect is None:
            writer.close()
            reader, writer = await asyncio.open_connection(
                host, port, ssl=ctx, server_hostname=HOST
            )
        else:
            await writer.start_tls(ctx, server_hostname=HOST)
    return reader, writer


async def _worker(target: Target, todo: list[int], result: ThroughputResult) -> None:
    req = target.request()
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    try:
        while todo[0] > 0:
            todo[0] -= 1
            if conn is None:
                conn = await _aopen(target)
            reader, writer = conn
            writer.write(req)
            status, length, close = _parse_head((await reader.readuntil(b"\r\n\r\n"))[:-4])
            if length:
                await reader.readexactly(length)
            result.statuses[status] += 1
            if close:
                writer.close()
                conn = None
    except (OSError, asyncio.IncompleteReadError, ValueError) as e:
        result.errors.append(f"{type(e).__name__}: {e}")
    finally:
        if conn is not None:
            conn[1].close()


async def _throughput(target: Target, n: int, concurrency: int) -> ThroughputResult:
    result = ThroughputResult(requests=n, seconds=0.0)
    todo = [n]
    t0 = time.perf_counter()
    await asyncio.gather(*(_worker(target, todo, result) for _ in range(concurrency)))
    result.seconds = time.perf_counter() - t0
    result.requests = sum(result.statuses.values())
    return result


def throughput(target: Target, n: int, concurrency: int, timeout: float = 300) -> ThroughputResult:
    """``n`` requests over ``concurrency`` keep-alive connections (handshakes included)."""
    return asyncio.run(asyncio.wait_for(_throughput(target, n, concurrency), timeout))
