"""Fixture traffic for the dashboard tests, made the production way.

Proxy events come from :class:`FlowRecord` (the proxy's own event builder) in the order
``addons/audit.py`` writes them; everything goes through hash-chained spool streams
and the real :class:`Shipper` into a real chDB store.

The story (seconds after ``base``, a whole minute; minute buckets in brackets):

- acme/claude-1: 4 GET pypi.org [0]; 2 denied GET example.com [1]; a streamed GET
  files.pythonhosted.org [1] (http-request with 0 bytes, http-stream-end with 5000);
  a POST api.github.com with credential github v2 injected and a github_pat redacted
  from the body [2].
- acme/claude-2: 2 GET pypi.org [0]; a POST evil.example carrying the github
  placeholder (credential-misuse, refused) and an AWS key [2]; a task-refused call
  after its task was killed [3]; a 413 body_too_large with a body-unscannable event [3].
- globex/bot-9: 3 GET registry.npmjs.org with credential npm v1 [0], one response
  carrying a github_pat (alerted).
- No task: a proxy-auth-failure [0] and a tunnel-refused raw TCP flow [3].
- Supervisor: policy-loaded [0], three component-restart (proxy twice, store) [5].
- Store stream: one undecodable record, which the shipper turns into spool-corruption.
- Checkpoints: gw/proxy opens and closes (final) its chain; gw/supervisor closes once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.audit.events import AuditEvent
from gateway.audit.shipper import Shipper
from gateway.audit.spool import SpoolWriter
from gateway.audit.store import AuditStore
from gateway.control.tasks import TaskInfo
from gateway.egress.record import FlowRecord
from gateway.egress.secrets import SecretHit
from gateway.egress.verdict import Verdict, refusal
from tests.support.chain import chain_in

GW = "gw"
ALLOW = Verdict(True, ("allowed",), ("profile/registries/allow/0",), "", "rev-1")
GARBAGE = b"\x00\x01 not an audit event"


def _task(task_id: str, tenant: str, agent: str, at: datetime) -> TaskInfo:
    return TaskInfo(
        task_id, tenant, agent, "registries", "active", at, at + timedelta(hours=2), None
    )


def audited(rec: FlowRecord, kind: str | None = None) -> list[AuditEvent]:
    """The events ``addons/audit.py:audit_now`` writes for a flow, in its order."""
    kind = kind or rec.kind
    events = [rec.event(kind, GW), *rec.credential_events(GW), *rec.finding_events(GW)]
    if rec.unscannable and kind != "http-stream-end":
        events.append(rec.event("body-unscannable", GW, reason=rec.unscannable))
    return events


@dataclass
class Traffic:
    base: datetime
    tasks: dict[str, TaskInfo]

    def at(self, seconds: float) -> datetime:
        return self.base + timedelta(seconds=seconds)

    def flow(
        self,
        agent: str | None,
        seconds: float,
        host: str,
        *,
        method: str = "GET",
        path: str = "/",
        verdict: Verdict | None = ALLOW,
        status: int = 200,
        bytes_in: int = 0,
        bytes_out: int = 0,
    ) -> FlowRecord:
        return FlowRecord(
            ts=self.at(seconds),
            started=time.monotonic(),
            task=self.tasks[agent] if agent else None,
            client_addr="10.1.0.7",
            method=method,
            scheme="https",
            host=host,
            port=443,
            path=path,
            verdict=verdict,
            status=status,
            bytes_in=bytes_in,
            bytes_out=bytes_out,
        )

    def proxy_events(self) -> list[AuditEvent]:
        out: list[AuditEvent] = []
        for s in range(4):
            out += audited(self.flow("claude-1", s, "pypi.org", bytes_in=1000))
        denied = refusal(
            "destination_not_allowed", "not allowed", "airlock.network.destination_not_allowed"
        )
        for s in (65, 66):
            out += audited(
                self.flow("claude-1", s, "example.com", verdict=denied, status=403, bytes_in=200)
            )
        streamed = self.flow("claude-1", 70, "files.pythonhosted.org", bytes_out=10)
        streamed.streamed = True
        out += audited(streamed)
        streamed.bytes_in = 5000
        out += audited(streamed, "http-stream-end")
        github = self.flow(
            "claude-1", 130, "api.github.com", method="POST", bytes_in=50, bytes_out=300
        )
        github.injected = [("github", 2)]
        github.note_hits(
            [SecretHit("github_pat", "f1f1f1f1f1f1f1f1", "outbound", "body", 12)], "redacted"
        )
        out += audited(github)
        return out + self._claude2() + self._bot9() + self._no_task()

    def _claude2(self) -> list[AuditEvent]:
        out: list[AuditEvent] = []
        for s in (5, 6):
            out += audited(self.flow("claude-2", s, "pypi.org", bytes_in=400))
        misuse = refusal("credential_not_allowed", "no", "airlock.credentials.not_allowed", "rev-1")
        evil = self.flow("claude-2", 125, "evil.example", method="POST", verdict=misuse, status=403)
        evil.bytes_in, evil.bytes_out, evil.misused = 180, 60, ["github"]
        evil.note_hits(
            [SecretHit("aws_access_key_id", "a1a1a1a1a1a1a1a1", "outbound", "header:x-api-key", 0)],
            "refused",
        )
        out += audited(evil)
        killed = refusal("task_killed", "killed", "airlock.identity.task_not_active")
        refused = self.flow("claude-2", 190, "pypi.org", verdict=killed, status=403, bytes_in=150)
        refused.kind = "task-refused"
        out += audited(refused)
        big = refusal("body_too_large", "too large")
        unscannable = self.flow("claude-2", 195, "pypi.org", verdict=big, status=413, bytes_in=120)
        unscannable.unscannable = "inbound: body larger than scan_limit_bytes"
        return out + audited(unscannable)

    def _bot9(self) -> list[AuditEvent]:
        out: list[AuditEvent] = []
        for s in (10, 11, 12):
            rec = self.flow("bot-9", s, "registry.npmjs.org", path="/left-pad", bytes_in=700)
            rec.injected = [("npm", 1)]
            if s == 12:
                hit = SecretHit("github_pat", "f1f1f1f1f1f1f1f1", "inbound", "body", 40)
                rec.note_hits([hit], "alerted")
            out += audited(rec)
        return out

    def _no_task(self) -> list[AuditEvent]:
        auth = self.flow(None, 20, "pypi.org", method="CONNECT", verdict=None, status=407)
        auth.kind, auth.error = "proxy-auth-failure", "proxy_auth_required"
        tunnel = AuditEvent(  # as addons/tunnels.py makes it
            kind="tunnel-refused",
            ts=self.at(200),
            host="10.0.0.5",
            port=5432,
            decision="deny",
            reasons=("opaque_tunnel",),
            rules=("airlock.gateway.opaque_tunnel",),
            client_addr="10.1.0.7",
            gateway_id=GW,
            detail={"transport": "tcp"},
        )
        return [*audited(auth), tunnel]

    def supervisor_events(self) -> list[AuditEvent]:
        """As ``gateway/supervisor.py:Supervisor.audit`` makes them."""
        out = [
            AuditEvent(
                kind="policy-loaded",
                ts=self.at(1),
                gateway_id=GW,
                detail={"revision": "rev-1", "digest": "d" * 64},
            )
        ]
        for s, component, code, restarts in (
            (300, "proxy", "-9", "1"),
            (310, "store", "1", "1"),
            (320, "proxy", "1", "2"),
        ):
            out.append(
                AuditEvent(
                    kind="component-restart",
                    ts=self.at(s),
                    gateway_id=GW,
                    detail={"component": component, "exit_code": code, "restarts": restarts},
                )
            )
        return out


@dataclass(frozen=True)
class Shipped:
    base: datetime  # fixture time zero, a whole minute
    ship_start: datetime  # wall clock just before the shipper ran
    ship_end: datetime  # and just after
    proxy_events: int  # events in the gw/proxy chain between its two checkpoints


def load(store: AuditStore, spool: Path, now: datetime | None = None) -> Shipped:
    """Write the fixture traffic to ``spool`` and ship it into ``store``."""
    now = now or datetime.now(UTC)
    base = now.replace(second=0, microsecond=0) - timedelta(minutes=30)
    tasks = {
        "claude-1": _task("tsk_a1", "acme", "claude-1", base),
        "claude-2": _task("tsk_a2", "acme", "claude-2", base),
        "bot-9": _task("tsk_g9", "globex", "bot-9", base),
    }
    traffic = Traffic(base, tasks)
    proxy = chain_in(spool, "proxy")
    proxy.checkpoint(interval=1)
    events = traffic.proxy_events()
    proxy.write(events)
    proxy.checkpoint(final=True, interval=1)
    proxy.close()
    supervisor = chain_in(spool, "supervisor")
    supervisor.write(traffic.supervisor_events())
    supervisor.checkpoint(final=True, interval=1)
    supervisor.close()
    corrupt = SpoolWriter(spool, "store")
    corrupt.write([GARBAGE])  # intact length and CRC, undecodable payload
    corrupt.close()
    start = datetime.now(UTC)
    Shipper(spool, store).drain()
    return Shipped(base, start, datetime.now(UTC), len(events))
