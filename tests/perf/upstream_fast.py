"""A deliberately dumb, fast loopback upstream for the proxy benchmark.

Raw ``asyncio`` streams, HTTP/1.1 keep-alive, one fixed small ``200`` response
with ``Content-Length`` for every request (any method, any path). It exists so
that the upstream is never the bottleneck: no routing, no header parsing beyond
``Content-Length`` / ``Connection: close``.

``FastUpstream`` runs the server in a *separate process* (``python -m
tests.perf.upstream_fast``) so it does not share the GIL with the load
generator. One process serves a plain HTTP port and, when given a certificate,
an HTTPS port (TLS terminated by ``ssl``, ALPN ``http/1.1``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import ssl
import subprocess
import sys
from pathlib import Path
from types import TracebackType

from tests.support.env import direct_env
from tests.support.tls import ServerCert, server_context

__all__ = ["BODY", "RESPONSE", "FastUpstream", "serve"]

REPO = Path(__file__).resolve().parents[2]
BODY = b"ok\n"
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
    b"Connection: keep-alive\r\n\r\n%s" % (len(BODY), BODY)
)
_MAX_HEAD = 64 * 1024


def _content_length_and_close(head: bytes) -> tuple[int, bool]:
    length, close = 0, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"connection" and b"close" in value.lower():
            close = True
    return length, close


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                return
            length, close = _content_length_and_close(head)
            if length:
                await reader.readexactly(length)
            writer.write(RESPONSE)
            await writer.drain()
            if close:
                return
    except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
        return
    finally:
        writer.close()


async def serve(http_port: int, https_port: int | None, cert: ServerCert | None) -> None:
    """Serve until cancelled; prints ``READY <http> <https>`` once listening."""
    servers = [await asyncio.start_server(_handle, "127.0.0.1", http_port, limit=_MAX_HEAD)]
    ports = [servers[0].sockets[0].getsockname()[1]]
    if cert is not None:
        ctx = server_context(cert)
        servers.append(
            await asyncio.start_server(
                _handle, "127.0.0.1", https_port or 0, ssl=ctx, limit=_MAX_HEAD
            )
        )
        ports.append(servers[1].sockets[0].getsockname()[1])
    print("READY", *ports, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    for s in servers:
        s.close()


class FastUpstream:
    """Context manager: the upstream in a child process; ``http_port`` / ``https_port``."""

    def __init__(self, cert: ServerCert | None = None) -> None:
        self.cert = cert
        self.proc: subprocess.Popen[str] | None = None
        self.http_port = 0
        self.https_port = 0

    def __enter__(self) -> FastUpstream:
        argv = [sys.executable, "-m", "tests.perf.upstream_fast"]
        if self.cert is not None:
            argv += ["--cert", str(self.cert[0]), "--key", str(self.cert[1])]
        self.proc = subprocess.Popen(
            argv, cwd=REPO, env=direct_env(), stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if not line or line[0] != "READY":
            self.__exit__(None, None, None)
            raise RuntimeError(f"fast upstream did not start: {line!r}")
        self.http_port = int(line[1])
        self.https_port = int(line[2]) if len(line) > 2 else 0
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc else os.getpid()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--http-port", type=int, default=0)
    p.add_argument("--https-port", type=int, default=0)
    p.add_argument("--cert", type=Path)
    p.add_argument("--key", type=Path)
    a = p.parse_args(argv)
    cert = (a.cert, a.key) if a.cert and a.key else None
    asyncio.run(serve(a.http_port, a.https_port, cert))


if __name__ == "__main__":
    main()
