"""Typed, versioned audit events.

Every event is a frozen model with ``schema_version``, a kebab-case ``kind`` and
a stable ``code``. The schema only gains fields. ``EVENT_KINDS`` registers every
kind; a test checks each is documented in docs/events.md.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.ids import uuid7

SCHEMA_VERSION = 2  # 2: hash chain fields (stream, seq, prev_hash, hash)

# kind -> (code, default severity, one-line meaning)
EVENT_KINDS: dict[str, tuple[str, str, str]] = {
    "http-request": ("AL1000", "info", "A proxied HTTP request, allowed or denied."),
    "http-stream-end": ("AL1001", "info", "A streamed response finished; final byte counts."),
    "tunnel-refused": ("AL1002", "warning", "A non-HTTP tunnel or datagram flow was refused."),
    "tunnel-opened": ("AL1003", "info", "A raw TCP tunnel allowed by a raw_tcp entry opened."),
    "tunnel-closed": ("AL1004", "info", "A raw TCP tunnel closed; byte counts both ways."),
    "websocket-message": ("AL1005", "info", "A WebSocket message was forwarded or dropped."),
    "proxy-auth-failure": ("AL2000", "warning", "Missing, malformed or wrong task credentials."),
    "task-refused": ("AL2001", "warning", "A killed or expired task tried to make a call."),
    "dns-query": ("AL1010", "info", "A sandbox's DNS query, answered or refused."),
    "sandbox-registered": ("AL2010", "info", "A sandbox address was mapped to a task."),
    "sandbox-removed": ("AL2011", "info", "A sandbox address was unmapped."),
    "sandbox-unknown": ("AL2012", "warning", "Traffic came from an unregistered source address."),
    "secret-finding": ("AL4000", "high", "A secret was found in a request or a response."),
    "body-unscannable": ("AL4001", "warning", "A body was too large or undecodable to scan."),
    "task-created": ("AL2002", "info", "A task was created (with its profile and grants)."),
    "task-killed": ("AL2003", "warning", "A task was killed."),
    "credential-injected": ("AL5000", "info", "A real credential replaced a placeholder."),
    "credential-misuse": ("AL5001", "high", "A placeholder was sent where it may not go."),
    "credential-added": ("AL5002", "info", "A credential was stored."),
    "credential-rotated": ("AL5003", "info", "A credential got a new version."),
    "credential-revoked": ("AL5004", "warning", "A credential was revoked."),
    "grant-created": ("AL5005", "info", "A task was granted a credential."),
    "component-start": ("AL3000", "info", "An Airlock component started."),
    "component-restart": ("AL3001", "warning", "A crashed component was restarted."),
    "component-stop": ("AL3002", "info", "An Airlock component stopped cleanly."),
    "policy-loaded": ("AL3003", "info", "A new policy revision was published to OPA."),
    "spool-corruption": ("AL3004", "high", "A damaged spool record was skipped."),
    "export-failed": ("AL6000", "warning", "A SIEM sink's push failed; it is retried."),
    "export-recovered": ("AL6001", "info", "A failing SIEM sink delivers again."),
    "export-dead-letter": ("AL6002", "high", "A SIEM receiver refused records for good."),
    "export-rewound": ("AL6003", "warning", "A SIEM sink's cursor was moved by an operator."),
    "audit-checkpoint": ("AL3005", "info", "A signed checkpoint of an audit chain's head."),
    "legal-hold-opened": ("AL3006", "info", "A legal hold was opened: retention skips it."),
    "legal-hold-released": ("AL3007", "info", "A legal hold was released."),
    "audit-viewed": ("AL3008", "info", "Someone read the audit trail (state, timeline, flow)."),
    "task-expired": ("AL2004", "info", "A task reached its expiry time."),
    "alert-raised": ("AL7000", "warning", "An alert was raised (e.g. a task stalled)."),
    "alert-resolved": ("AL7001", "info", "An alert was resolved (e.g. the task resumed)."),
    "alert-notified": ("AL7002", "info", "An alert was sent to webhooks (with each outcome)."),
}

Decision = Literal["allow", "deny", ""]


def now_utc() -> datetime:
    return datetime.now(UTC)


class AuditEvent(BaseModel):
    """One audit record. Only redacted values ever go in here."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = SCHEMA_VERSION
    event_id: str = Field(default_factory=lambda: str(uuid7()))
    ts: datetime = Field(default_factory=now_utc)
    kind: str
    code: str = ""
    severity: str = ""
    tenant: str = ""
    agent: str = ""
    task_id: str = ""
    request_id: str = ""
    session: str = ""
    workflow: str = ""
    method: str = ""
    scheme: str = ""
    host: str = ""
    port: int = 0
    path: str = ""
    query: str = ""
    status: int = 0
    decision: Decision = ""
    rules: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    policy_revision: str = ""
    bytes_in: int = 0
    bytes_out: int = 0
    duration_ms: float = 0.0
    client_addr: str = ""
    gateway_id: str = ""
    detail: dict[str, str] = Field(default_factory=dict)
    # Hash chain (gateway/audit/chain.py), set when the event is written to the spool.
    stream: str = ""
    seq: int = 0
    prev_hash: str = ""
    hash: str = ""

    def model_post_init(self, __context: object) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"unregistered event kind {self.kind!r}")
        code, severity, _ = EVENT_KINDS[self.kind]
        if not self.code:
            object.__setattr__(self, "code", code)
        if not self.severity:
            object.__setattr__(self, "severity", severity)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> AuditEvent:
        return cls.model_validate_json(raw)


def clickhouse_row(event: AuditEvent, stream: str) -> dict[str, object]:
    """The row shape of the ``events`` table (see gateway/audit/schema.py)."""
    row = event.model_dump(mode="json")
    row["ts"] = event.ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    row["detail"] = json.dumps(event.detail, sort_keys=True)
    row["spool_stream"] = stream
    return row
