"""What the proxy knows about one opaque tunnel, and the audit events made from it.

An opaque tunnel is a CONNECT that carries neither TLS nor HTTP (or a UDP or DNS
flow where no such flow is expected). It is refused unless the task's profile
allows raw TCP to that host and port; an allowed one is recorded when it opens
(``tunnel-opened``) and when it closes (``tunnel-closed``, with byte counts).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from gateway.audit.events import AuditEvent, now_utc
from gateway.control.tasks import TaskInfo
from gateway.egress.verdict import Verdict, refusal
from gateway.ids import uuid7

OPAQUE = refusal(
    "opaque_tunnel", "only HTTP(S) leaves through Airlock", "airlock.gateway.opaque_tunnel"
)


@dataclass
class TunnelRecord:
    host: str
    port: int
    transport: str  # tcp | udp | dns
    client_addr: str = ""
    task: TaskInfo | None = None
    verdict: Verdict = OPAQUE
    address: str = ""  # the checked address connected to
    error: str = ""
    bytes_in: int = 0  # server -> client
    bytes_out: int = 0  # client -> server
    request_id: str = field(default_factory=lambda: str(uuid7()))
    ts: datetime = field(default_factory=now_utc)
    started: float = field(default_factory=time.monotonic)

    def count(self, from_client: bool, size: int) -> None:
        if from_client:
            self.bytes_out += size
        else:
            self.bytes_in += size

    def event(self, kind: str, gateway_id: str) -> AuditEvent:
        """``tunnel-refused``, ``tunnel-opened`` or ``tunnel-closed``."""
        task, verdict = self.task, self.verdict
        detail = {"transport": self.transport}
        if self.address:
            detail["address"] = self.address
        if self.error:
            detail["error"] = self.error
        return AuditEvent(
            kind=kind,
            ts=now_utc() if kind == "tunnel-closed" else self.ts,
            tenant=task.tenant if task else "",
            agent=task.agent if task else "",
            task_id=task.task_id if task else "",
            request_id=self.request_id,
            method="CONNECT",
            scheme=self.transport,
            host=self.host,
            port=self.port,
            decision="allow" if verdict.allow else "deny",
            rules=verdict.rules,
            reasons=verdict.reasons,
            policy_revision=verdict.revision,
            bytes_in=self.bytes_in,
            bytes_out=self.bytes_out,
            duration_ms=round((time.monotonic() - self.started) * 1000, 3),
            client_addr=self.client_addr,
            gateway_id=gateway_id,
            detail=detail,
        )
