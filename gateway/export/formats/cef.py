"""ArcSight CEF: ``CEF:0|Airlock|Airlock|VERSION|CODE|NAME|SEVERITY|EXTENSION``.

Header fields escape ``\\`` and ``|`` (line breaks become spaces: a header has no
escape for them). Extension values escape ``\\``, ``=``, LF as ``\\n`` and CR as
``\\r``; other control characters become U+FFFD. Values longer than the CEF
dictionary allows for their key are cut to that length before escaping.
"""

from __future__ import annotations

import json

from gateway.audit.events import AuditEvent
from gateway.export.formats import fields

# Maximum lengths from the CEF key dictionary; custom (airlock*) keys get 4000.
LIMITS = {
    "act": 63,
    "app": 31,
    "cat": 1023,
    "dhost": 1023,
    "dvchost": 100,
    "externalId": 40,
    "msg": 1023,
    "outcome": 63,
    "reason": 1023,
    "request": 1023,
    "requestMethod": 1023,
    "suid": 1023,
    "suser": 1023,
}
DEFAULT_LIMIT = 4000
CUSTOM_STRINGS = (
    ("cs1", "rules", lambda e: ",".join(e.rules)),
    ("cs2", "policyRevision", lambda e: e.policy_revision),
    ("cs3", "requestId", lambda e: e.request_id),
    ("cs4", "tenant", lambda e: e.tenant),
    ("cs5", "detail", lambda e: json.dumps(e.detail, sort_keys=True) if e.detail else ""),
    ("cs6", "session", lambda e: e.session),
)


def extension_escape(value: str) -> str:
    text = fields.without_controls(value).replace("\\", "\\\\").replace("=", "\\=")
    return text.replace("\r\n", "\\r\\n").replace("\n", "\\n").replace("\r", "\\r")


def address_pairs(key4: str, label6: str, slot6: str, address: str) -> list[tuple[str, str]]:
    """An IPv4 address under its CEF key; an IPv6 one in a labelled c6a slot."""
    version = fields.ip_version(address)
    if version == 4:
        return [(key4, address)]
    if version == 6:
        return [(slot6, address), (f"{slot6}Label", label6)]
    return []


def extension_pairs(event: AuditEvent) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = [
        ("rt", str(fields.epoch_ms(event))),
        ("externalId", event.event_id),
        ("cat", event.kind),
        ("act", fields.action(event)),
        ("outcome", fields.outcome(event)),
        ("msg", fields.message(event)),
        ("suser", event.agent),
        ("suid", event.task_id),
        *address_pairs("src", "sourceAddress", "c6a2", event.client_addr),
        ("dhost", event.host),
        *address_pairs("dst", "destinationAddress", "c6a3", event.host),
        ("dpt", str(event.port) if event.port else ""),
        ("app", event.scheme.upper()),
        ("requestMethod", event.method),
        ("request", fields.url(event)),
        ("reason", ",".join(event.reasons)),
        ("in", str(event.bytes_in) if event.bytes_in else ""),
        ("out", str(event.bytes_out) if event.bytes_out else ""),
        ("dvchost", event.gateway_id),
    ]
    if event.status:
        pairs += [("cn1", str(event.status)), ("cn1Label", "httpStatus")]
    if event.duration_ms:
        pairs += [("cfp1", str(round(event.duration_ms, 3))), ("cfp1Label", "durationMs")]
    for key, label, get in CUSTOM_STRINGS:
        if value := get(event):
            pairs += [(key, value), (f"{key}Label", label)]
    pairs += [(f"airlock{k.title().replace('_', '')}", str(v)) for k, v in custom(event)]
    return [(k, v) for k, v in pairs if v]


def custom(event: AuditEvent) -> list[tuple[str, object]]:
    """Fields CEF has no key for, as ``airlock*`` keys (airlockWorkflow, airlockHash...)."""
    return [("workflow", event.workflow), *fields.chain_fields(event).items()]


def render(event: AuditEvent) -> str:
    header = [
        "CEF:0",
        fields.VENDOR,
        fields.PRODUCT,
        fields.PRODUCT_VERSION,
        event.code,
        fields.name(event),
        str(fields.severity_score(event)),
    ]
    head = "|".join([header[0], *(fields.header_escape(h) for h in header[1:])])
    ext = " ".join(
        f"{key}={extension_escape(value[: LIMITS.get(key, DEFAULT_LIMIT)])}"
        for key, value in extension_pairs(event)
    )
    return f"{head}|{ext}"
