"""Field mappings every format shares: the one place that interprets an ``AuditEvent``.

Each format maps these to its own vocabulary; none of them reads an event field in a
way another format does not. Kinds not listed here (added after this module) fall in
the family ``other`` and still render.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from gateway import __version__
from gateway.audit.events import EVENT_KINDS, AuditEvent

VENDOR = "Airlock"
PRODUCT = "Airlock"
PRODUCT_VERSION = __version__
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Family = Literal[
    "http", "network", "auth", "finding", "control", "lifecycle", "log", "error", "other"
]

FAMILIES: dict[str, Family] = {
    "http-request": "http",
    "http-stream-end": "http",
    "task-refused": "http",
    "tunnel-refused": "network",
    "proxy-auth-failure": "auth",
    "secret-finding": "finding",
    "body-unscannable": "finding",
    "credential-misuse": "finding",
    "task-created": "control",
    "task-killed": "control",
    "credential-added": "control",
    "credential-rotated": "control",
    "credential-revoked": "control",
    "grant-created": "control",
    "credential-injected": "control",
    "component-start": "lifecycle",
    "component-stop": "lifecycle",
    "component-restart": "lifecycle",
    "policy-loaded": "lifecycle",
    "audit-checkpoint": "log",
    "export-failed": "log",
    "export-recovered": "log",
    "export-dead-letter": "log",
    "export-rewound": "log",
    "spool-corruption": "error",
}

# What a control-plane or lifecycle event did to its object.
VERBS: dict[str, str] = {
    "task-created": "create",
    "task-killed": "delete",
    "credential-added": "create",
    "credential-rotated": "update",
    "credential-revoked": "delete",
    "grant-created": "create",
    "credential-injected": "read",
    "component-start": "start",
    "component-stop": "stop",
    "component-restart": "restart",
    "policy-loaded": "update",
    "audit-checkpoint": "checkpoint",
    "export-failed": "export",
    "export-recovered": "export",
    "export-dead-letter": "export",
    "export-rewound": "rewind",
}
# Kinds that report something that went wrong, whatever their fields say.
FAILURE_KINDS = ("spool-corruption", "export-failed", "export-dead-letter")

SEVERITY_SCORES = {"info": 3, "warning": 6, "high": 8, "critical": 10}
FINDING_ACTIONS = {"redacted": "redacted", "blocked": "denied", "refused": "denied"}
REFUSED_STATUSES = (407, 413, 415)  # answered by the proxy itself, with or without a decision
DEFAULT_PORTS = {"http": 80, "https": 443}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_KEY = re.compile(r"[^A-Za-z0-9_]")


def family(kind: str) -> Family:
    return FAMILIES.get(kind, "other")


def verb(kind: str) -> str:
    return VERBS.get(kind, "other")


def meaning(kind: str) -> str:
    """The one-line meaning of the kind from ``EVENT_KINDS``, or the kind itself."""
    return EVENT_KINDS[kind][2] if kind in EVENT_KINDS else kind


# Time ---------------------------------------------------------------------------------


def utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def epoch_ms(event: AuditEvent) -> int:
    return (utc(event.ts) - EPOCH) // timedelta(milliseconds=1)


def epoch_seconds(event: AuditEvent) -> float:
    """Seconds since the epoch with microseconds, exact to the microsecond."""
    delta = utc(event.ts) - EPOCH
    return round(delta // timedelta(microseconds=1) / 1_000_000, 6)


def iso_time(event: AuditEvent) -> str:
    """``2026-11-26T04:27:48.882276Z``, as the query API writes it."""
    return utc(event.ts).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# Network ------------------------------------------------------------------------------


def ip_version(value: str) -> int:
    """4 or 6 when ``value`` is an IP address literal, else 0."""
    try:
        return ipaddress.ip_address(value).version
    except ValueError:
        return 0


def url(event: AuditEvent) -> str:
    """The request URL (query already masked), or "" when the event has no HTTP target."""
    if not event.host or event.scheme not in DEFAULT_PORTS:
        return ""
    host = f"[{event.host}]" if ip_version(event.host) == 6 else event.host
    port = f":{event.port}" if event.port and event.port != DEFAULT_PORTS[event.scheme] else ""
    query = f"?{event.query}" if event.query else ""
    return f"{event.scheme}://{host}{port}{event.path}{query}"


# Verdict ------------------------------------------------------------------------------


def action(event: AuditEvent) -> str:
    """What Airlock did: ``allowed``, ``denied``, ``redacted``, ``alerted`` or ""."""
    if event.kind == "secret-finding" and event.detail.get("action"):
        return FINDING_ACTIONS.get(event.detail["action"], "alerted")
    if event.decision == "allow":
        return "allowed"
    if event.decision == "deny" or event.kind == "proxy-auth-failure":
        return "denied"
    if event.status in REFUSED_STATUSES and family(event.kind) in ("http", "finding"):
        return "denied"
    return ""


def outcome(event: AuditEvent) -> str:
    """``success``, ``failure`` or ``unknown`` (ECS ``event.outcome`` values)."""
    if action(event) == "denied" or event.status >= 400 or event.detail.get("error"):
        return "failure"
    if event.kind in FAILURE_KINDS:
        return "failure"
    if event.status or action(event) or family(event.kind) in ("control", "lifecycle", "log"):
        return "success"
    return "unknown"


def severity_score(event: AuditEvent) -> int:
    """0-10 (CEF, LEEF, ECS ``event.severity``): info 3, warning 6, high 8."""
    return SEVERITY_SCORES.get(event.severity, 5)


def name(event: AuditEvent) -> str:
    """Short, stable event name: ``http-request denied``, ``task-created``."""
    verdict = action(event)
    return f"{event.kind} {verdict}" if verdict else event.kind


def message(event: AuditEvent) -> str:
    """One human-readable line: name, target and why."""
    target = url(event) or (f"{event.host}:{event.port}" if event.host else "")
    target = f"{event.method} {target}".strip() if target else ""
    if not target:
        target = event.detail.get("component") or event.detail.get("credential") or ""
    why = event.detail.get("error") or (
        ", ".join(event.reasons) if action(event) == "denied" else ""
    )
    text = f"{name(event)}: {target}" if target else name(event)
    return f"{text} [{why}]" if why else text


# Airlock's own fields -----------------------------------------------------------------


def airlock_fields(event: AuditEvent) -> dict[str, object]:
    """The Airlock-specific fields of the event, empty ones left out."""
    fields: dict[str, object] = {
        "event_id": event.event_id,
        "schema_version": event.schema_version,
        "kind": event.kind,
        "code": event.code,
        "severity": event.severity,
        "tenant": event.tenant,
        "agent": event.agent,
        "task_id": event.task_id,
        "request_id": event.request_id,
        "session": event.session,
        "workflow": event.workflow,
        "decision": event.decision,
        "rules": list(event.rules),
        "reasons": list(event.reasons),
        "policy_revision": event.policy_revision,
        "gateway_id": event.gateway_id,
        "detail": dict(sorted(event.detail.items())),
        **chain_fields(event),
    }
    return {k: v for k, v in fields.items() if v not in ("", [], {})}


def chain_fields(event: AuditEvent) -> dict[str, object]:
    """The event's hash-chain link (stream, seq, prev_hash, hash), where set."""
    fields: dict[str, object] = {
        "stream": event.stream,
        "seq": event.seq,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }
    return {k: v for k, v in fields.items() if v not in ("", 0)}


def detail_key(key: str) -> str:
    """A ``detail`` key as a token safe in any key=value format: [A-Za-z0-9_] only."""
    return _KEY.sub("_", key)


def without_controls(text: str) -> str:
    """Control characters other than tab, LF and CR become U+FFFD (they have no escape)."""
    return _CONTROL.sub("\ufffd", text)


def header_escape(value: str) -> str:
    """A field of a ``|``-separated CEF/LEEF header: ``\\`` and ``|`` escaped, no line breaks."""
    text = without_controls(value).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return text.replace("\\", "\\\\").replace("|", "\\|")


def compact(value: Any) -> Any:
    """Drop empty strings, None, empty lists and empty objects, recursively (not 0)."""
    if isinstance(value, dict):
        items = ((k, compact(v)) for k, v in value.items())
        return {k: v for k, v in items if v not in ("", None, [], {})}
    if isinstance(value, list):
        return [compact(v) for v in value]
    return value
