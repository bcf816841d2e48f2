"""OCSF: one event as one OCSF record (a JSON object), schema version ``OCSF_VERSION``.

The class comes from the event's family (``fields.FAMILIES``), the class-specific
attributes from ``ocsf_classes``. Events with a verdict also carry the
``security_control`` profile: ``action``, ``disposition`` and the ``policy`` that
decided, at the policy revision. Everything Airlock-specific is kept under
``unmapped.airlock``; ``metadata.uid`` is the Airlock event id.
"""

from __future__ import annotations

import json
from typing import Any

from gateway.audit.events import AuditEvent
from gateway.export.formats import fields
from gateway.export.formats.ocsf_classes import BUILDERS, CLASSES, Attrs

OCSF_VERSION = "1.8.0"
SECURITY_CONTROL = "security_control"
POLICY_NAME = "data.airlock.decision"

SEVERITIES = {
    "info": (1, "Informational"),
    "warning": (3, "Medium"),
    "high": (4, "High"),
    "critical": (5, "Critical"),
}

# action -> (action_id, action caption, disposition_id, disposition caption)
VERDICTS = {
    "allowed": (1, "Allowed", 1, "Allowed"),
    "denied": (2, "Denied", 2, "Blocked"),
    "redacted": (4, "Modified", 11, "Corrected"),
    "alerted": (3, "Observed", 19, "Alert"),
}
UNAUTHORIZED = (2, "Denied", 26, "Unauthorized")


def to_ocsf(event: AuditEvent) -> dict[str, Any]:
    family = fields.family(event.kind)
    cls = CLASSES[family]
    activity_id, activity_name, attrs = BUILDERS[family](event)
    severity_id, severity = SEVERITIES.get(event.severity, (0, "Unknown"))
    control = security_control(event)
    record: Attrs = {
        "class_uid": cls.uid,
        "class_name": cls.name,
        "category_uid": cls.category_uid,
        "category_name": cls.category_name,
        "activity_id": activity_id,
        "activity_name": activity_name,
        "type_uid": cls.uid * 100 + activity_id,
        "type_name": f"{cls.name}: {activity_name}",
        "time": fields.epoch_ms(event),
        "severity_id": severity_id,
        "severity": severity,
        "message": fields.message(event),
        "duration": round(event.duration_ms),
        "metadata": metadata(event, [SECURITY_CONTROL] if control else []),
        **attrs,
        **control,
    }
    # unmapped is kept as it is: a detail value "" is a fact too.
    return {**fields.compact(record), "unmapped": {"airlock": fields.airlock_fields(event)}}


def metadata(event: AuditEvent, profiles: list[str]) -> Attrs:
    product = {"name": fields.PRODUCT, "vendor_name": fields.VENDOR}
    return {
        "version": OCSF_VERSION,
        "uid": event.event_id,
        "product": {**product, "version": fields.PRODUCT_VERSION},
        "event_code": event.code,
        "log_name": event.stream,
        "log_provider": fields.PRODUCT,
        "correlation_uid": event.request_id,
        "tenant_uid": event.tenant,
        "sequence": event.seq or None,
        "original_time": fields.iso_time(event),
        "profiles": profiles,
    }


def security_control(event: AuditEvent) -> Attrs:
    """action / disposition / policy for an event with a verdict; {} otherwise."""
    verdict = fields.action(event)
    if not verdict:
        return {}
    unauthorized = event.kind == "proxy-auth-failure"
    action_id, action, disposition_id, disposition = (
        UNAUTHORIZED if unauthorized else VERDICTS[verdict]
    )
    out: Attrs = {"action_id": action_id, "action": action}
    out.update({"disposition_id": disposition_id, "disposition": disposition})
    if event.rules or event.policy_revision:
        rule = event.rules[0] if event.rules else ""
        out["policy"] = {
            "name": POLICY_NAME,
            "uid": rule,
            "version": event.policy_revision,
            "desc": ", ".join(event.reasons),
            "is_applied": True,
            "data": {"rules": list(event.rules), "reasons": list(event.reasons)},
        }
    return out


def render(event: AuditEvent) -> str:
    return json.dumps(to_ocsf(event), separators=(",", ":"), ensure_ascii=False)
