"""One audit event per WebSocket message, in either direction.

The upgrade request is decided like any request (it is one); after it, every
message is recorded before it is forwarded: direction, type, size as forwarded,
and what redaction did to it. Never its content.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.audit.events import AuditEvent, now_utc
from gateway.egress.record import FlowRecord


@dataclass(frozen=True)
class MessageFacts:
    seq: int  # 1-based, per connection, both directions
    from_client: bool
    text: bool
    size: int  # bytes as forwarded (after redaction)
    findings: int  # secrets found in this message
    action: str  # forwarded | redacted | alerted | dropped


def message_event(rec: FlowRecord, gateway_id: str, facts: MessageFacts) -> AuditEvent:
    base = rec.event("websocket-message", gateway_id)
    detail = {
        "direction": "outbound" if facts.from_client else "inbound",
        "type": "text" if facts.text else "binary",
        "seq": str(facts.seq),
        "size": str(facts.size),
        "action": facts.action,
    }
    if facts.findings:
        detail["secret_findings"] = str(facts.findings)
    return base.model_copy(
        update={
            "ts": now_utc(),
            "bytes_out": facts.size if facts.from_client else 0,
            "bytes_in": 0 if facts.from_client else facts.size,
            "detail": detail,
        }
    )
