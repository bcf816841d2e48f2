"""Elastic Common Schema: one event as one ECS document (JSON), ``ecs.version`` ECS_VERSION.

Standard fields where ECS has them (``event.*``, ``url.*``, ``http.*``,
``source.*``, ``destination.*``, ``rule.*``, ``observer.*``); everything
Airlock-specific under the custom ``airlock.*`` namespace.
"""

from __future__ import annotations

import json
from typing import Any

from gateway.audit.events import AuditEvent
from gateway.export.formats import fields
from gateway.export.formats.fields import Family

ECS_VERSION = "8.17.0"
Doc = dict[str, Any]

# family -> (event.category, event.type) before the verdict is added
CATEGORIES: dict[Family, tuple[list[str], list[str]]] = {
    "http": (["web", "network"], ["access"]),
    "network": (["network"], ["connection"]),
    "auth": (["authentication"], ["start"]),
    "finding": (["intrusion_detection"], ["info"]),
    "control": (["iam"], []),
    "lifecycle": (["process"], []),
    "log": (["configuration"], ["info"]),
    "error": (["database"], ["error"]),
    "other": ([], ["info"]),
}
VERB_TYPES = {
    "create": "creation",
    "delete": "deletion",
    "update": "change",
    "read": "info",
    "start": "start",
    "stop": "end",
    "restart": "start",
    "rewind": "change",
}
VERDICT_TYPES = {"allowed": "allowed", "denied": "denied"}
ALERT_KINDS = ("secret-finding", "credential-misuse")


def event_block(event: AuditEvent) -> Doc:
    category, types = CATEGORIES[fields.family(event.kind)]
    types = list(types)
    if fields.verb(event.kind) in VERB_TYPES:
        types.append(VERB_TYPES[fields.verb(event.kind)])
    if fields.action(event) in VERDICT_TYPES:
        types.append(VERDICT_TYPES[fields.action(event)])
    return {
        "id": event.event_id,
        "kind": "alert" if event.kind in ALERT_KINDS else "event",
        "category": category,
        "type": types or ["info"],
        "action": event.kind,
        "code": event.code,
        "outcome": fields.outcome(event),
        "severity": fields.severity_score(event),
        "reason": event.detail.get("error") or ", ".join(event.reasons),
        "duration": round(event.duration_ms * 1_000_000),
        "dataset": "airlock.audit",
        "module": "airlock",
        "sequence": event.seq or None,
    }


def network_blocks(event: AuditEvent) -> Doc:
    dest_key = "ip" if fields.ip_version(event.host) else "domain"
    source_ip = event.client_addr if fields.ip_version(event.client_addr) else None
    full = fields.url(event)
    return {
        "source": {"ip": source_ip, "address": event.client_addr},
        "destination": {dest_key: event.host, "address": event.host, "port": event.port or None},
        "url": {
            "full": full,
            "original": full,
            "scheme": event.scheme,
            "domain": event.host if full else None,
            "port": event.port if full else None,
            "path": event.path,
            "query": event.query,
        },
        "http": {
            "request": {"id": event.request_id, "method": event.method},
            "response": {"status_code": event.status or None},
        },
        "network": {"transport": event.detail.get("transport", "tcp" if event.host else "")},
    }


def http_bytes(event: AuditEvent, doc: Doc) -> None:
    if event.bytes_out:
        doc["http"]["request"]["body"] = {"bytes": event.bytes_out}
    if event.bytes_in:
        doc["http"]["response"]["body"] = {"bytes": event.bytes_in}


def to_ecs(event: AuditEvent) -> Doc:
    doc: Doc = {
        "@timestamp": fields.iso_time(event),
        "ecs": {"version": ECS_VERSION},
        "message": fields.message(event),
        "event": event_block(event),
        **network_blocks(event),
        "rule": {
            "id": event.rules[0] if event.rules else "",
            "name": ",".join(event.rules),
            "ruleset": "airlock",
            "version": event.policy_revision,
        }
        if event.rules or event.policy_revision
        else {},
        "user": {"name": event.agent, "id": event.task_id},
        "organization": {"id": event.tenant},
        "observer": {
            "name": event.gateway_id,
            "vendor": fields.VENDOR,
            "product": fields.PRODUCT,
            "version": fields.PRODUCT_VERSION,
            "type": "proxy",
        },
    }
    http_bytes(event, doc)
    return {**fields.compact(doc), "airlock": fields.airlock_fields(event)}


def render(event: AuditEvent) -> str:
    return json.dumps(to_ecs(event), separators=(",", ":"), ensure_ascii=False)
