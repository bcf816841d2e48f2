"""IBM QRadar LEEF 2.0: ``LEEF:2.0|Airlock|Airlock|VERSION|CODE|x09|ATTRIBUTES``.

Attributes are ``key=value`` pairs separated by a tab (declared as ``x09`` in the
header). Header fields escape ``\\`` and ``|`` (line breaks become spaces). Values
escape ``\\`` as ``\\\\``, tab as ``\\t``, LF as ``\\n`` and CR as ``\\r``, so a value
can never split an attribute or the line; other control characters become U+FFFD.
``=`` is left as it is: a key ends at the first ``=``. Keys are [A-Za-z0-9_].
"""

from __future__ import annotations

from gateway.audit.events import AuditEvent
from gateway.export.formats import fields

DELIMITER = "\t"
DELIMITER_HEADER = "x09"
DEV_TIME_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSZ"


def value_escape(value: str) -> str:
    text = fields.without_controls(value).replace("\\", "\\\\").replace("\t", "\\t")
    return text.replace("\n", "\\n").replace("\r", "\\r")


def dev_time(event: AuditEvent) -> str:
    """The time in ``DEV_TIME_FORMAT``: ``2026-11-26T04:27:48.882+0000``."""
    ts = fields.utc(event.ts)
    return f"{ts:%Y-%m-%dT%H:%M:%S}.{ts.microsecond // 1000:03d}+0000"


def attributes(event: AuditEvent) -> list[tuple[str, str]]:
    transport = event.detail.get("transport", "tcp" if event.host else "")
    pairs: list[tuple[str, str]] = [
        ("devTime", dev_time(event)),
        ("devTimeFormat", DEV_TIME_FORMAT),
        ("cat", event.kind),
        ("sev", str(fields.severity_score(event))),
        ("eventId", event.event_id),
        ("action", fields.action(event)),
        ("outcome", fields.outcome(event)),
        ("usrName", event.agent),
        ("taskId", event.task_id),
        ("tenant", event.tenant),
        ("src", event.client_addr),
        ("dst", event.host if fields.ip_version(event.host) else ""),
        ("dstHost", event.host),
        ("dstPort", str(event.port) if event.port else ""),
        ("proto", transport.upper()),
        ("method", event.method),
        ("url", fields.url(event)),
        ("status", str(event.status) if event.status else ""),
        ("srcBytes", str(event.bytes_out) if event.bytes_out else ""),
        ("dstBytes", str(event.bytes_in) if event.bytes_in else ""),
        ("policy", event.rules[0] if event.rules else ""),
        ("rules", ",".join(event.rules)),
        ("reasons", ",".join(event.reasons)),
        ("policyRevision", event.policy_revision),
        ("requestId", event.request_id),
        ("session", event.session),
        ("workflow", event.workflow),
        ("gatewayId", event.gateway_id),
        ("durationMs", str(round(event.duration_ms, 3)) if event.duration_ms else ""),
        ("msg", fields.message(event)),
    ]
    pairs += [(fields.detail_key(k), str(v)) for k, v in fields.chain_fields(event).items()]
    pairs += [(f"detail_{fields.detail_key(k)}", v) for k, v in sorted(event.detail.items())]
    return [(k, v) for k, v in pairs if v]


def render(event: AuditEvent) -> str:
    header = [fields.VENDOR, fields.PRODUCT, fields.PRODUCT_VERSION, event.code]
    head = "|".join(["LEEF:2.0", *(fields.header_escape(h) for h in header), DELIMITER_HEADER])
    attrs = DELIMITER.join(f"{k}={value_escape(v)}" for k, v in attributes(event))
    return f"{head}|{attrs}"
