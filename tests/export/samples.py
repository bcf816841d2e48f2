"""Sample audit events for the format tests: one realistic event per kind.

``sample(kind)`` fills the fields the kind carries in practice (docs/events.md); a kind
with no entry here (one added after these tests) gets the fields of a proxied request,
so tests that iterate ``EVENT_KINDS`` cover it too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.audit.events import AuditEvent

TS = datetime(2026, 11, 26, 4, 27, 48, 882276, tzinfo=UTC)
EPOCH_MS = 1795667268882

REQUEST: dict[str, Any] = {
    "tenant": "default",
    "agent": "claude-1",
    "task_id": "tsk_f9a02a472d6b5d08",
    "request_id": "01a2161c-1512-71f3-9ee7-c0bc1fda8465",
    "method": "GET",
    "scheme": "https",
    "host": "pypi.org",
    "port": 443,
    "path": "/simple/requests/",
    "query": "api_key=[MASKED]",
    "client_addr": "127.0.0.1",
    "gateway_id": "gw-eu-1",
    "policy_revision": "c68be2289483",
}
ALLOWED = {"status": 200, "decision": "allow", "rules": ("profile/registries/allow/0",)}
ALLOWED |= {"reasons": ("allowed",), "bytes_in": 5120, "duration_ms": 38.283}
DENIED = {"status": 403, "decision": "deny", "rules": ("airlock.network.destination_not_allowed",)}
DENIED |= {"reasons": ("destination_not_allowed",), "bytes_in": 312}
TASK = {"tenant": "default", "agent": "claude-1", "task_id": "tsk_f9a02a472d6b5d08"}
CHAIN = {"stream": "gw-eu-1/proxy", "seq": 42, "prev_hash": "ab" * 32, "hash": "cd" * 32}

SAMPLES: dict[str, dict[str, Any]] = {
    "http-request": {**REQUEST, **DENIED},
    "http-stream-end": {**REQUEST, **ALLOWED, "detail": {"streamed": "true"}},
    "tunnel-refused": {
        **REQUEST,
        "method": "CONNECT",
        "scheme": "",
        "path": "",
        "query": "",
        "decision": "deny",
        "rules": ("airlock.gateway.opaque_tunnel",),
        "reasons": ("opaque_tunnel",),
        "detail": {"transport": "tcp"},
    },
    "proxy-auth-failure": {
        "method": "CONNECT",
        "host": "pypi.org",
        "port": 443,
        "status": 407,
        "client_addr": "127.0.0.1",
        "detail": {"error": "proxy_auth_invalid"},
    },
    "task-refused": {
        **REQUEST,
        "status": 403,
        "decision": "deny",
        "reasons": ("task_killed",),
        "rules": ("airlock.identity.task_not_active",),
    },
    "secret-finding": {
        **REQUEST,
        "detail": {
            "detector": "github_pat",
            "direction": "outbound",
            "location": "header:authorization",
            "offset": "7",
            "fingerprint": "1a2b3c4d5e6f7a8b",
            "action": "redacted",
        },
    },
    "body-unscannable": {**REQUEST, "status": 413, "detail": {"reason": "too_large outbound"}},
    "credential-misuse": {**REQUEST, **DENIED, "detail": {"credential": "openai"}},
    "credential-injected": {**REQUEST, "detail": {"credential": "openai", "version": "2"}},
    "task-created": {**TASK, "detail": {"profile": "registries", "grants": "openai"}},
    "task-killed": {**TASK, "detail": {"by": "cli"}},
    "credential-added": {"detail": {"credential": "openai", "version": "1", "kind": "bearer"}},
    "credential-rotated": {"detail": {"credential": "openai", "version": "2", "kind": "bearer"}},
    "credential-revoked": {"detail": {"credential": "openai", "version": "2", "kind": "bearer"}},
    "grant-created": {**TASK, "detail": {"credential": "openai", "expires_at": "2026-11-26"}},
    "component-start": {"gateway_id": "gw-eu-1", "detail": {"component": "proxy"}},
    "component-restart": {"detail": {"component": "store", "exit_code": "-9", "restarts": "1"}},
    "component-stop": {"detail": {"component": "supervisor"}},
    "policy-loaded": {"detail": {"revision": "c68be2289483", "digest": "ef" * 32}},
    "spool-corruption": {"detail": {"raw_bytes": "812"}},
    "audit-checkpoint": {"detail": {"head_seq": "41", "head_hash": "ab" * 32, "final": "false"}},
    "export-failed": {"detail": {"sink": "splunk", "transport": "hec", "error": "timed out"}},
    "export-recovered": {"detail": {"sink": "splunk", "attempts": "3"}},
    "export-dead-letter": {"detail": {"sink": "splunk", "count": "1", "reason": "400"}},
    "export-rewound": {"detail": {"sink": "splunk"}},
}


def sample(kind: str, **overrides: Any) -> AuditEvent:
    fields = SAMPLES.get(kind, {**REQUEST, **ALLOWED})
    return AuditEvent(kind=kind, ts=TS, **{**fields, **CHAIN, **overrides})
