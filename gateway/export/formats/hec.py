"""Splunk HTTP Event Collector: one event as one HEC event object (JSON).

``{"time": EPOCH_SECONDS, "host": GATEWAY, "source": "airlock", "sourcetype":
"airlock:audit", "event": {...}, "fields": {...}}``. ``event`` is the Airlock event
exactly as the query API returns it; ``fields`` are indexed fields for fast search.
A batch for ``/services/collector/event`` is these objects concatenated.
"""

from __future__ import annotations

import json
from typing import Any

from gateway.audit.events import AuditEvent
from gateway.export.formats import fields

SOURCE = "airlock"
SOURCETYPE = "airlock:audit"
INDEXED = ("kind", "code", "severity", "tenant", "agent", "task_id", "decision", "event_id")


def event_body(event: AuditEvent) -> dict[str, Any]:
    """The event as the query API returns it (``ts`` in ISO 8601 with Z)."""
    body: dict[str, Any] = event.model_dump(mode="json")
    body["ts"] = fields.iso_time(event)
    return body


def to_hec(event: AuditEvent) -> dict[str, Any]:
    indexed = {name: str(getattr(event, name)) for name in INDEXED if getattr(event, name)}
    return {
        "time": fields.epoch_seconds(event),
        "host": event.gateway_id or SOURCE,
        "source": SOURCE,
        "sourcetype": SOURCETYPE,
        "event": event_body(event),
        "fields": indexed,
    }


def render(event: AuditEvent) -> str:
    return json.dumps(to_hec(event), separators=(",", ":"), ensure_ascii=False)
