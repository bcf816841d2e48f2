"""Syslog: RFC 5424 messages over TCP or TLS (RFC 5425) with octet counting (RFC 6587), or UDP.

Each message carries the event id, kind and severity in an SD element
``[airlock@32473 ...]``, the event code as MSGID and the rendered line as MSG.

Syslog has no application-level acknowledgement. Over TCP and TLS a batch counts as
acknowledged once the receiver's TCP stack has acknowledged every byte of it (the
socket's send queue, ``SIOCOUTQ``, is empty); a connection the receiver closed is
noticed before sending and the batch goes again on a new connection. A receiver that
dies after its kernel acknowledged but before it wrote can still lose that tail: RELP
or HTTP sinks close that gap. Over UDP nothing is acknowledged: a batch counts as
delivered once handed to the kernel, and a message longer than ``max_datagram`` is cut.
"""

from __future__ import annotations

import array
import fcntl
import select
import socket
import ssl
import termios
import time
from collections.abc import Sequence
from datetime import UTC

from gateway.audit.events import AuditEvent
from gateway.export.sink import Record, Rejected, TransientError

SD_ID = "airlock@32473"  # 32473: the example enterprise number of RFC 5612
SYSLOG_SEVERITY = {"high": 2, "warning": 4, "info": 6}
NIL = "-"
TLS_REFUSAL_GRACE = 0.2  # seconds


def _printable(text: str, limit: int) -> str:
    clean = "".join(c if "!" <= c <= "~" else "_" for c in text)[:limit]
    return clean or NIL


def _sd_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def rfc5424(event: AuditEvent, msg: str, *, facility: int = 13, app_name: str = "airlock") -> bytes:
    """One RFC 5424 message (no framing): header, SD element with the event id, MSG."""
    pri = facility * 8 + SYSLOG_SEVERITY.get(event.severity, 5)
    stamp = event.ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    host = _printable(event.gateway_id, 255)
    params = {"event_id": event.event_id, "kind": event.kind, "severity": event.severity}
    sd = "[" + SD_ID + "".join(f' {k}="{_sd_value(v)}"' for k, v in params.items()) + "]"
    header = f"<{pri}>1 {stamp} {host} {_printable(app_name, 48)} {NIL} "
    return f"{header}{_printable(event.code, 32)} {sd} {msg}".encode()


def octet_counted(message: bytes) -> bytes:
    """RFC 6587 section 3.4.1 framing: ``MSG-LEN SP SYSLOG-MSG``."""
    return b"%d %s" % (len(message), message)


def _unacked_bytes(sock: socket.socket) -> int:
    buf = array.array("i", [0])
    fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, buf, True)  # == SIOCOUTQ on Linux
    return buf[0]


def _peer_closed(sock: socket.socket) -> bool:
    """A syslog receiver never sends: anything readable means it closed or reset."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    timeout = sock.gettimeout()
    try:
        sock.setblocking(False)
        return sock.recv(4096) == b""
    except (ssl.SSLWantReadError, BlockingIOError):
        return False  # a TLS 1.3 session ticket, not data
    except OSError:
        return True
    finally:
        sock.settimeout(timeout)


class SyslogStream:
    """Syslog over TCP, or TLS when ``tls`` is given; one connection, reopened on failure."""

    def __init__(
        self,
        address: tuple[str, int],
        *,
        tls: ssl.SSLContext | None = None,
        server_name: str | None = None,
        timeout: float = 10.0,
        facility: int = 13,
        app_name: str = "airlock",
    ) -> None:
        self.name = "syslog-tls" if tls else "syslog-tcp"
        self.address, self.tls, self.timeout = address, tls, timeout
        self.server_name = server_name or address[0]
        self.facility, self.app_name = facility, app_name
        self._sock: socket.socket | None = None

    def push(self, batch: Sequence[Record]) -> list[Rejected]:
        frames = b"".join(
            octet_counted(rfc5424(r.event, r.line, facility=self.facility, app_name=self.app_name))
            for r in batch
        )
        fresh = self._sock is None
        try:
            sock = self._connection()
            sock.sendall(frames)
            self._wait_acknowledged(sock)
            if fresh and self.tls is not None:
                self._check_accepted(sock)
        except (OSError, ssl.SSLError) as exc:
            self.close()
            raise TransientError(f"syslog {self._where}: {type(exc).__name__}: {exc}") from None
        return []

    @property
    def _where(self) -> str:
        return f"{self.address[0]}:{self.address[1]}"

    def _connection(self) -> socket.socket:
        if self._sock is not None and _peer_closed(self._sock):
            self.close()
        if self._sock is None:
            raw = socket.create_connection(self.address, timeout=self.timeout)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                self._sock = (
                    self.tls.wrap_socket(raw, server_hostname=self.server_name) if self.tls else raw
                )
            except (OSError, ssl.SSLError):
                raw.close()
                raise
        return self._sock

    def _wait_acknowledged(self, sock: socket.socket) -> None:
        deadline = time.monotonic() + self.timeout
        delay = 0.0005
        while _unacked_bytes(sock):
            if _peer_closed(sock):
                raise ConnectionResetError("receiver closed the connection")
            if time.monotonic() > deadline:
                raise TimeoutError("receiver did not acknowledge in time")
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    @staticmethod
    def _check_accepted(sock: socket.socket) -> None:
        """TLS 1.3 finishes the client's handshake before the server has checked the
        client certificate; a refusal arrives as an alert one round trip later. Wait
        that long on a new connection so a refused certificate is a failure, not a loss."""
        time.sleep(TLS_REFUSAL_GRACE)
        if _peer_closed(sock):
            raise ConnectionResetError("receiver closed the new TLS connection")

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is None:
            return
        try:
            if isinstance(sock, ssl.SSLSocket):
                sock.settimeout(1)
                sock.unwrap()
        except (OSError, ssl.SSLError, ValueError):
            pass  # the peer is gone already; closing is all that is left
        sock.close()


class SyslogUdp:
    """Syslog over UDP (RFC 5426): one message per datagram, no acknowledgement."""

    name = "syslog-udp"

    def __init__(
        self,
        address: tuple[str, int],
        *,
        max_datagram: int = 8192,
        facility: int = 13,
        app_name: str = "airlock",
    ) -> None:
        self.address, self.max_datagram = address, max_datagram
        self.facility, self.app_name = facility, app_name
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_DGRAM)

    def push(self, batch: Sequence[Record]) -> list[Rejected]:
        try:
            for r in batch:
                message = rfc5424(r.event, r.line, facility=self.facility, app_name=self.app_name)
                self._sock.sendto(message[: self.max_datagram], self.address)
        except OSError as exc:
            raise TransientError(f"syslog udp {self.address}: {exc}") from None
        return []

    def close(self) -> None:
        self._sock.close()
