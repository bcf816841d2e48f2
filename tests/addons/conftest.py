"""Fixtures for the addon unit tests: a ProxyRuntime with a real spool and small fakes.

The identity resolver and the decider are fakes on purpose: these tests check only how
the addons translate a mitmproxy flow into a domain call and write the answer back.
The real ProxyAuthResolver (SQLite tasks) and Decider (OPA) are exercised end to end by
tests/integration/. The spool (SpoolWriter + GroupCommitter) is the real one.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.audit.committer import GroupCommitter
from gateway.audit.events import AuditEvent
from gateway.audit.spool import Position, list_segments, read_records, segment_name
from gateway.config import Settings
from gateway.control.tasks import TaskInfo
from gateway.egress.secrets import SecretGuard
from gateway.egress.verdict import RequestFacts, Verdict
from gateway.errors import SpoolError
from gateway.identity.base import ConnectionFacts, Identity, IdentityRefused
from gateway.policy.client import PolicyClient
from gateway.redaction import Redactor
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

    async def refresh(self, task: TaskInfo) -> TaskInfo:
        """The task's current state: whatever ``self.task`` is now (tests kill it)."""
        return self.task if self.task.task_id == task.task_id else task


@dataclass
class FakeDecider:
    """Answers every request with ``verdict`` and remembers what it was asked."""

    verdict: Verdict = field(
        default_factory=lambda: Verdict(
            True, ("allowed",), ("profile/x/allow/0",), "ok", "rev1", addresses=("203.0.113.10",)
        )
    )
    calls: list[tuple[TaskInfo, RequestFacts]] = field(default_factory=list)

    async def decide(
        self,
        task: TaskInfo,
        facts: RequestFacts,
        credentials: list[dict[str, object]] | None = None,
        *,
        resolve: bool = True,
    ) -> Verdict:
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
        secrets=SecretGuard(Redactor(b"k" * 32), scan_limit=1 << 20),
    )


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[ProxyRuntime]:
    rt = build_runtime(tmp_path)
    yield rt
    await rt.aclose()


def wait_until_refusing(spool: GroupCommitter) -> None:
    """A readiness wait, not a timing assertion: the commit thread measures the spool
    in the background, so wait (bounded) until it has flagged the spool as refusing."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            spool.check_capacity()
        except SpoolError:
            return
        time.sleep(0.01)
    pytest.fail("the spool never started refusing")


@pytest.fixture
async def full_runtime(tmp_path: Path) -> AsyncIterator[ProxyRuntime]:
    """A runtime whose spool is over its size limit from the start."""
    other = tmp_path / "spool" / "other"
    other.mkdir(parents=True)
    (other / "000000000001.seg").write_bytes(b"x" * 64)
    rt = build_runtime(tmp_path, spool_max_bytes=16)
    wait_until_refusing(rt.spool)
    yield rt
    await rt.aclose()


@pytest.fixture
async def disk_full_runtime(tmp_path: Path) -> AsyncIterator[ProxyRuntime]:
    """A runtime whose next spool segment lives on /dev/full: every write gets ENOSPC.

    One large event fills the current (smallest allowed) segment, so the next write rolls
    over to the next segment, which is a symlink to /dev/full. Do not read this spool back
    (reading /dev/full yields endless zero bytes).
    """
    rt = build_runtime(tmp_path, spool_segment_bytes=4097)
    await rt.spool.append(AuditEvent(kind="component-start", detail={"pad": "x" * 5000}))
    stream_dir = rt.settings.spool_dir / STREAM
    (stream_dir / segment_name(list_segments(stream_dir)[-1] + 1)).symlink_to("/dev/full")
    yield rt
    await rt.aclose()


def spooled(runtime: ProxyRuntime) -> list[AuditEvent]:
    """Every event the runtime's spool has made durable (not the chain's own checkpoints)."""
    result = read_records(runtime.settings.spool_dir / STREAM, Position(1, 0), 1000)
    events = [AuditEvent.from_bytes(p) for p in result.payloads]
    return [e for e in events if e.kind != "audit-checkpoint"]
