"""Events, records and little receivers shared by the transport and delivery tests."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime, timedelta

from gateway.audit.events import AuditEvent
from gateway.export.sink import Record

T0 = datetime(2026, 11, 26, 4, 27, 48, 882276, tzinfo=UTC)


def make_event(i: int, **fields: object) -> AuditEvent:
    base: dict[str, object] = {
        "kind": "http-request",
        "ts": T0 + timedelta(milliseconds=i),
        "tenant": "default",
        "agent": "claude-1",
        "method": "GET",
        "host": "pypi.org",
        "port": 443,
        "path": f"/simple/p{i}/",
        "status": 200,
        "decision": "allow",
        "gateway_id": "gw-test",
    }
    return AuditEvent.model_validate(base | fields)


def make_records(n: int, **fields: object) -> list[Record]:
    events = [make_event(i, **fields) for i in range(n)]
    return [Record(e, f"line {e.event_id} {e.path}") for e in events]


def read_octet_frames(data: bytes) -> list[bytes]:
    """Split RFC 6587 octet-counted frames; fails on anything else."""
    frames, pos = [], 0
    while pos < len(data):
        space = data.index(b" ", pos)
        length = int(data[pos:space])
        frames.append(data[space + 1 : space + 1 + length])
        pos = space + 1 + length
    assert pos == len(data), "trailing bytes after the last frame"
    return frames


class TcpCollector:
    """A plain TCP listener that keeps every byte each connection sent."""

    def __init__(self, port: int = 0) -> None:
        self.listener = socket.create_server(("127.0.0.1", port), reuse_port=False)
        self.port = int(self.listener.getsockname()[1])
        self.received: list[bytes] = []
        self.conns: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                self.conns.append(conn)
                self.received.append(b"")
                index = len(self.received) - 1
            threading.Thread(target=self._read, args=(conn, index), daemon=True).start()

    def _read(self, conn: socket.socket, index: int) -> None:
        while True:
            try:
                chunk = conn.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self.received[index] += chunk

    def all_bytes(self) -> bytes:
        with self._lock:
            return b"".join(self.received)

    def close(self) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        except OSError:
            pass
        self.listener.close()
        with self._lock:
            for conn in self.conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                conn.close()
