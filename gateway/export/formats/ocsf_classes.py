"""The class-specific attributes of each OCSF class Airlock events map to.

Each builder returns ``(activity_id, activity_name, attributes)``. Names and ids are
those of the OCSF schema (see ``OCSF_VERSION`` in ``ocsf.py``); a test checks them
against the schema itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.audit.events import AuditEvent
from gateway.export.formats import fields
from gateway.export.formats.fields import Family

Attrs = dict[str, Any]
Built = tuple[int, str, Attrs]


@dataclass(frozen=True)
class OcsfClass:
    uid: int
    name: str
    category_uid: int
    category_name: str


CLASSES: dict[Family, OcsfClass] = {
    "http": OcsfClass(4002, "HTTP Activity", 4, "Network Activity"),
    "network": OcsfClass(4001, "Network Activity", 4, "Network Activity"),
    "auth": OcsfClass(3002, "Authentication", 3, "Identity & Access Management"),
    "finding": OcsfClass(2006, "Data Security Finding", 2, "Findings"),
    "control": OcsfClass(6003, "API Activity", 6, "Application Activity"),
    "lifecycle": OcsfClass(6002, "Application Lifecycle", 6, "Application Activity"),
    "log": OcsfClass(1008, "Event Log Activity", 1, "System Activity"),
    "error": OcsfClass(6008, "Application Error", 6, "Application Activity"),
    "other": OcsfClass(0, "Base Event", 0, "Uncategorized"),
}

HTTP_METHODS = {
    "CONNECT": (1, "Connect"),
    "DELETE": (2, "Delete"),
    "GET": (3, "Get"),
    "HEAD": (4, "Head"),
    "OPTIONS": (5, "Options"),
    "POST": (6, "Post"),
    "PUT": (7, "Put"),
    "TRACE": (8, "Trace"),
    "PATCH": (9, "Patch"),
}
API_ACTIVITIES = {
    "create": (1, "Create"),
    "read": (2, "Read"),
    "update": (3, "Update"),
    "delete": (4, "Delete"),
}
LIFECYCLE_ACTIVITIES = {
    "start": (3, "Start"),
    "stop": (4, "Stop"),
    "restart": (5, "Restart"),
    "update": (8, "Update"),
}
LOG_ACTIVITIES = {"export": (3, "Export")}
SUCCESS, FAILURE = 1, 2
OUTBOUND = 2
DLP_GATEWAY = 2
DATA_IN_TRANSIT = 2
BASIC_AUTH = 11
FINDING_NEW = 1


def endpoint(address: str, port: int = 0) -> Attrs:
    """A network_endpoint: ``ip`` for an address literal, ``hostname`` otherwise."""
    if not address:
        return {}
    where: Attrs = {"ip" if fields.ip_version(address) else "hostname": address}
    if port:
        where["port"] = port
    return where


def source(event: AuditEvent) -> Attrs:
    """The sandbox side: its address, and the task and agent that own it."""
    src = endpoint(event.client_addr)
    src.update({k: v for k, v in (("uid", event.task_id), ("name", event.agent)) if v})
    return src


def url_object(event: AuditEvent) -> Attrs:
    full = fields.url(event)
    if not full:
        return {}
    parts: Attrs = {"url_string": full, "scheme": event.scheme, "hostname": event.host}
    parts.update({"path": event.path, "query_string": event.query, "port": event.port})
    return {k: v for k, v in parts.items() if v}


def http_request(event: AuditEvent) -> Attrs:
    """http_request; never empty (HTTP Activity needs a request or a response)."""
    request: Attrs = {"uid": event.request_id or event.event_id, "url": url_object(event)}
    if event.method.upper() in HTTP_METHODS:
        request["http_method"] = event.method.upper()
    if event.bytes_out:
        request["body_length"] = event.bytes_out
    return {k: v for k, v in request.items() if v}


def status(event: AuditEvent) -> Attrs:
    """status_id / status_code / status_detail of the classes that use Success/Failure."""
    failed = fields.outcome(event) == "failure"
    out: Attrs = {"status_id": FAILURE if failed else SUCCESS}
    out["status"] = "Failure" if failed else "Success"
    if event.status:
        out["status_code"] = str(event.status)
    detail = event.detail.get("error") or (", ".join(event.reasons) if failed else "")
    if detail:
        out["status_detail"] = detail
    return out


def http(event: AuditEvent) -> Built:
    method = event.method.upper()
    activity_id, activity_name = HTTP_METHODS.get(method, (99, method) if method else (0, ""))
    attrs: Attrs = {"http_request": http_request(event), **status(event)}
    if event.status:
        attrs["http_response"] = {"code": event.status, "body_length": event.bytes_in}
    attrs["src_endpoint"] = source(event)
    attrs["dst_endpoint"] = endpoint(event.host, event.port)
    return activity_id, activity_name or "Unknown", attrs


def network(event: AuditEvent) -> Built:
    connection: Attrs = {"direction_id": OUTBOUND, "direction": "Outbound"}
    if event.detail.get("transport"):
        connection["protocol_name"] = event.detail["transport"].lower()
    attrs: Attrs = {"connection_info": connection, **status(event)}
    attrs["src_endpoint"] = source(event)
    attrs["dst_endpoint"] = endpoint(event.host, event.port)
    if not attrs["dst_endpoint"] and not attrs["src_endpoint"]:
        attrs["dst_endpoint"] = {"name": "unknown"}
    if event.kind == "tunnel-refused":
        return 5, "Refuse", attrs
    return 99, event.kind, attrs


def auth(event: AuditEvent) -> Built:
    user: Attrs = {"uid": event.task_id, "name": event.agent}
    attrs: Attrs = {
        "user": {k: v for k, v in user.items() if v} or {"name": "unknown"},
        "auth_protocol_id": BASIC_AUTH,
        "auth_protocol": "Basic Authentication",
        "service": {"name": "airlock-proxy"},
        "src_endpoint": endpoint(event.client_addr),
        "dst_endpoint": endpoint(event.host, event.port),
        "http_request": http_request(event),
        **status(event),
    }
    return 1, "Logon", attrs


def finding(event: AuditEvent) -> Built:
    pattern = event.detail.get("detector") or event.detail.get("reason") or ""
    if event.detail.get("credential"):
        pattern = pattern or f"credential:{event.detail['credential']}"
    info: Attrs = {"uid": event.event_id, "title": fields.meaning(event.kind)}
    info.update({"types": [event.kind], "created_time": fields.epoch_ms(event)})
    security: Attrs = {
        "detection_system_id": DLP_GATEWAY,
        "detection_system": "DLP Gateway",
        "data_lifecycle_state_id": DATA_IN_TRANSIT,
        "data_lifecycle_state": "Data in-Transit",
        "detection_pattern": pattern,
    }
    actor = {k: v for k, v in (("app_name", event.agent), ("app_uid", event.task_id)) if v}
    attrs: Attrs = {
        "finding_info": info,
        "data_security": security,
        "status_id": FINDING_NEW,
        "status": "New",
        "actor": actor,
        "src_endpoint": endpoint(event.client_addr),
        "dst_endpoint": endpoint(event.host, event.port),
    }
    return 1, "Create", attrs


def control(event: AuditEvent) -> Built:
    activity_id, activity_name = API_ACTIVITIES.get(fields.verb(event.kind), (99, event.kind))
    resources = []
    if event.task_id:
        resources.append({"type": "task", "uid": event.task_id, "name": event.agent})
    if event.detail.get("credential"):
        credential = {"type": "credential", "name": event.detail["credential"]}
        resources.append({**credential, "version": event.detail.get("version", "")})
    api: Attrs = {"operation": event.kind, "service": {"name": fields.PRODUCT}}
    api["request"] = {"uid": event.request_id or event.event_id}
    attrs: Attrs = {
        "api": api,
        "actor": {"app_name": fields.PRODUCT, "app_uid": event.gateway_id},
        "src_endpoint": endpoint(event.client_addr) or {"name": event.gateway_id or "airlock"},
        "dst_endpoint": endpoint(event.host, event.port),
        "resources": resources,
        **status(event),
    }
    return activity_id, activity_name, attrs


def lifecycle(event: AuditEvent) -> Built:
    activity_id, activity_name = LIFECYCLE_ACTIVITIES.get(fields.verb(event.kind), (99, ""))
    component = event.detail.get("component", "")
    app: Attrs = {"name": f"airlock-{component}" if component else "airlock"}
    app.update({"vendor_name": fields.VENDOR, "version": fields.PRODUCT_VERSION})
    if event.kind == "policy-loaded":
        app = {"name": "airlock-policy", "vendor_name": fields.VENDOR}
        app.update({"version": event.detail.get("revision", ""), "uid": event.detail.get("digest")})
    return activity_id, activity_name or event.kind, {"app": app, **status(event)}


def log(event: AuditEvent) -> Built:
    """The audit trail itself: checkpoints of its chains, its delivery to SIEM sinks."""
    doing = fields.verb(event.kind)
    activity_id, activity_name = LOG_ACTIVITIES.get(doing, (99, doing.title()))
    attrs: Attrs = {"log_name": "airlock-audit", "log_provider": fields.PRODUCT}
    return (
        activity_id,
        event.kind if doing == "other" else activity_name,
        {
            **attrs,
            **status(event),
        },
    )


def error(event: AuditEvent) -> Built:
    return 1, "General Error", status(event)


def other(event: AuditEvent) -> Built:
    return 99, event.kind, {}


BUILDERS: dict[Family, Callable[[AuditEvent], Built]] = {
    "http": http,
    "network": network,
    "auth": auth,
    "finding": finding,
    "control": control,
    "lifecycle": lifecycle,
    "log": log,
    "error": error,
    "other": other,
}
