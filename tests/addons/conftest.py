"""Fixtures for the addon unit tests: a ProxyRuntime with a real spool and small fakes.

The identity resolver and the decider are fakes on purpose: these tests check only how
the addons translate a mitmproxy flow into a domain call and write the answer back.
The real ProxyAuthResolver (SQLite tasks) and Decider (OPA) are exercised end to end by
tests/integration/. The spool (SpoolWriter + GroupCommitter) is the real one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.audit.events import AuditEvent
from gateway.audit.spool import Position, read_records
from gateway.config import Settings
from gateway.control.tasks import TaskInfo
from gateway.egress.verdict import RequestFacts, Verdict
from gateway.identity.base import ConnectionFacts, Identity, IdentityRefused
from gateway.policy.client import PolicyClient
from gateway.runtime import ProxyRuntime, open_spool

STREAM = "proxy"
GATEWAY_ID = "gw-unit"


def make_task(status: str = "active", task_id: str = "task-1") -> TaskInfo:
    now = datetime.now(UTC)
    return TaskInfo(
        task_id=task_id,
        tenant="acme",
        agent="claude-1",
        profile="registries",
        status=status,
        created_at=now,
        expires_at=now + timedelta(hours=1),
        ended_at=None,
    )


@dataclass
class FakeResolver:
    """Refuses with a 407 challenge when no credentials are presented (like the real
    resolver), otherwise answers ``refusal`` if set, else ``task``."""

    task: TaskInfo = field(default_factory=make_task)
    refusal: IdentityRefused | None = None
    seen: list[ConnectionFacts] = field(default_factory=list)

    async def resolve(self, facts: ConnectionFacts) -> Identity:
        self.seen.append(facts)
        if facts.proxy_authorization is None:
            raise IdentityRefused(
                "proxy_auth_required", "proxy credentials required", challenge=True
            )
        if self.refusal is not None:
            raise self.refusal
        return Identity(task=self.task)


@dataclass
class FakeDecider:
    """Answers every request with ``verdict`` and remembers what it was asked."""

    verdict: Verdict = field(
        default_factory=lambda: Verdict(True, ("allowed",), ("profile/x/allow/0",), "ok", "rev1")
    )
    calls: list[tuple[TaskInfo, RequestFacts]] = field(default_factory=list)

    async def decide(self, task: TaskInfo, facts: RequestFacts) -> Verdict:
        self.calls.append((task, facts))
        return self.verdict


def build_runtime(home: Path, **settings: object) -> ProxyRuntime:
    s = Settings(home=home, gateway_id=GATEWAY_ID, **settings)  # type: ignore[arg-type]
    return ProxyRuntime(
        settings=s,
        identity=FakeResolver(),
        decider=FakeDecider(),
        spool=open_spool(s, STREAM),
        policy=PolicyClient("http://127.0.0.1:9", timeout_ms=100),  # never called here
    )


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[ProxyRuntime]:
    rt = build_runtime(tmp_path)
    yield rt
    await rt.aclose()


@pytest.fixture
async def full_runtime(tmp_path: Path) -> AsyncIterator[ProxyRuntime]:
    """A runtime whose spool is over its size limit from the start."""
    other = tmp_path / "spool" / "other"
    other.mkdir(parents=True)
    (other / "000000000001.seg").write_bytes(b"x" * 64)
    rt = build_runtime(tmp_path, spool_max_bytes=16)
    yield rt
    await rt.aclose()


def spooled(runtime: ProxyRuntime) -> list[AuditEvent]:
    """Every event the runtime's spool has made durable."""
    result = read_records(runtime.settings.spool_dir / STREAM, Position(1, 0), 1000)
    return [AuditEvent.from_bytes(p) for p in result.payloads]
