"""What the proxy knows about one request, and the audit event made from it."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote_plus

from gateway.audit.events import AuditEvent, now_utc
from gateway.control.tasks import TaskInfo
from gateway.egress.secrets import SecretHit
from gateway.egress.verdict import RequestFacts, Verdict
from gateway.ids import uuid7

SENSITIVE_PARAMS = ("token", "key", "secret", "password", "passwd", "auth", "sig", "credential")


def mask_query(query: str) -> str:
    """Keep parameter names, mask values of parameters whose name looks secret.

    Both ``&`` and ``;`` separate parameters (some servers accept either).
    """
    if not query:
        return ""
    out = []
    for part in re.split(r"[&;]", query):
        name, sep, _ = part.partition("=")
        decoded = unquote_plus(name).lower()
        if sep and any(s in decoded for s in SENSITIVE_PARAMS):
            part = f"{name}=[MASKED]"
        out.append(part)
    return "&".join(out)


@dataclass
class FlowRecord:
    request_id: str = field(default_factory=lambda: str(uuid7()))
    ts: datetime = field(default_factory=now_utc)
    started: float = field(default_factory=time.monotonic)
    task: TaskInfo | None = None
    client_addr: str = ""
    session: str = ""
    workflow: str = ""
    method: str = ""
    scheme: str = ""
    host: str = ""
    port: int = 0
    requested_host: str = ""  # the host as the request spelled it, if not canonical
    path: str = ""
    query: str = ""
    verdict: Verdict | None = None
    status: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    streamed: bool = False
    error: str = ""
    task_hint: str = ""  # a task id named by refused credentials
    kind: str = "http-request"  # or proxy-auth-failure / task-refused for identity refusals
    secret_hits: list[SecretHit] = field(default_factory=list)
    secret_actions: list[str] = field(default_factory=list)  # per hit: redacted|blocked|alerted
    hits_recorded: int = 0
    blocked_response: list[SecretHit] = field(default_factory=list)
    unscannable: str = ""  # why a body could not be scanned, if it could not
    credential_input: list[dict[str, Any]] = field(default_factory=list)  # for the policy
    credential_uses: dict[str, str] = field(default_factory=dict)  # placeholder -> name
    injected: list[tuple[str, int]] = field(default_factory=list)  # (name, version)
    misused: list[str] = field(default_factory=list)  # credential names refused
    credentials_recorded: bool = False
    facts: RequestFacts | None = None  # what the policy was asked about (for re-asking)
    aws_pending: tuple[str, str] | None = None  # (key id placeholder, credential) to re-sign

    def note_hits(self, hits: list[SecretHit], action: str) -> None:
        self.secret_hits += hits
        self.secret_actions += [action] * len(hits)

    def credential_events(self, gateway_id: str) -> list[AuditEvent]:
        """One event per injection and per refused placeholder, by name and version."""
        if self.credentials_recorded:
            return []
        self.credentials_recorded = True
        out = [
            self.event("credential-injected", gateway_id, credential=name, version=str(version))
            for name, version in self.injected
        ]
        out += [
            self.event("credential-misuse", gateway_id, credential=name) for name in self.misused
        ]
        return out

    def finding_events(self, gateway_id: str) -> list[AuditEvent]:
        """``secret-finding`` events for hits not yet recorded (never the secret itself)."""
        out = []
        pending = zip(self.secret_hits, self.secret_actions, strict=True)
        for hit, action in list(pending)[self.hits_recorded :]:
            out.append(
                self.event(
                    "secret-finding",
                    gateway_id,
                    detector=hit.detector,
                    direction=hit.direction,
                    location=hit.location,
                    offset=str(hit.offset),
                    fingerprint=hit.fingerprint,
                    action=action,
                    known_name=hit.known_name,
                )
            )
        self.hits_recorded = len(self.secret_hits)
        return out

    def event(self, kind: str, gateway_id: str, **detail: str) -> AuditEvent:
        task, verdict = self.task, self.verdict
        extra = {k: v for k, v in detail.items() if v}
        if self.error:
            extra["error"] = self.error
        if self.requested_host:
            extra["requested_host"] = self.requested_host
        if self.streamed:
            extra["streamed"] = "true"
        if self.secret_hits and kind != "secret-finding":
            extra["secret_findings"] = str(len(self.secret_hits))
        if self.injected and kind == "http-request":
            extra["credentials"] = ",".join(f"{n}:v{v}" for n, v in self.injected)
        return AuditEvent(
            kind=kind,
            ts=self.ts,
            tenant=task.tenant if task else "",
            agent=task.agent if task else "",
            task_id=task.task_id if task else self.task_hint,
            request_id=self.request_id,
            session=self.session,
            workflow=self.workflow,
            method=self.method,
            scheme=self.scheme,
            host=self.host,
            port=self.port,
            path=self.path,
            query=mask_query(self.query),
            status=self.status,
            decision=("allow" if verdict.allow else "deny") if verdict else "",
            rules=verdict.rules if verdict else (),
            reasons=verdict.reasons if verdict else (),
            policy_revision=verdict.revision if verdict else "",
            bytes_in=self.bytes_in,
            bytes_out=self.bytes_out,
            duration_ms=round((time.monotonic() - self.started) * 1000, 3),
            client_addr=self.client_addr,
            gateway_id=gateway_id,
            detail=extra,
        )
