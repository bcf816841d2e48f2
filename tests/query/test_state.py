"""State at an instant, rebuilt from a scripted history in real chDB.

The script: policy A loaded, credential gh v1 added, task created with a grant,
requests (one long), policy B loaded, gh rotated to v2, an alert raised and
resolved, the task killed. Five instants must each give exactly the expected state.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.audit.events import AuditEvent
from gateway.audit.shipper import Shipper
from gateway.audit.store import ChdbStore, open_store
from gateway.query.state import StateReader, flow
from tests.support.chain import chain_in

T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
AGENT, TASK, TENANT = "alice", "task-1", "acme"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def scripted() -> list[AuditEvent]:
    task = {"tenant": TENANT, "agent": AGENT, "task_id": TASK}
    cred = {"credential": "gh", "kind": "bearer", "hosts": "api.github.com"}
    return [
        AuditEvent(kind="policy-loaded", ts=at(-10), gateway_id="gw", detail={"revision": "A"}),
        AuditEvent(kind="credential-added", ts=at(-5), detail={**cred, "version": "1"}),
        AuditEvent(
            kind="task-created",
            ts=at(0),
            **task,
            detail={"profile": "dev", "expires_at": at(120).isoformat(), "grants": "gh"},
        ),
        AuditEvent(
            kind="grant-created",
            ts=at(0),
            **task,
            detail={"credential": "gh", "expires_at": at(120).isoformat()},
        ),
        AuditEvent(
            kind="http-request",
            ts=at(1),
            **task,
            request_id="r-short",
            host="api.github.com",
            duration_ms=200,
        ),
        AuditEvent(
            kind="http-request",
            ts=at(2),
            **task,
            request_id="r-long",
            host="pypi.org",
            duration_ms=5 * 60_000,  # a 5-minute download
        ),
        AuditEvent(  # a streamed reply: headers after 100 ms, the stream for 10 minutes
            kind="http-request",
            ts=at(3),
            **task,
            request_id="r-stream",
            host="api.openai.com",
            duration_ms=100,
        ),
        AuditEvent(
            kind="http-stream-end",
            ts=at(3),
            **task,
            request_id="r-stream",
            host="api.openai.com",
            duration_ms=10 * 60_000,
        ),
        AuditEvent(
            kind="credential-injected",
            ts=at(2),
            **task,
            request_id="r-long",
            detail={"credential": "gh", "version": "1"},
        ),
        AuditEvent(kind="policy-loaded", ts=at(10), gateway_id="gw", detail={"revision": "B"}),
        AuditEvent(kind="credential-rotated", ts=at(20), detail={**cred, "version": "2"}),
        AuditEvent(
            kind="alert-raised",
            ts=at(30),
            **task,
            detail={"alert": "task-stalled", "alert_id": "al-1"},
        ),
        AuditEvent(
            kind="alert-resolved",
            ts=at(40),
            **task,
            detail={"alert": "task-stalled", "alert_id": "al-1"},
        ),
        AuditEvent(kind="task-killed", ts=at(50), **task, detail={"by": "cli"}),
        AuditEvent(kind="http-request", ts=at(1), tenant="other", agent=AGENT, task_id="x"),
    ]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbStore]:
    root = tmp_path_factory.mktemp("state")
    opened = open_store(None, root / "chdb")
    assert isinstance(opened, ChdbStore)
    writer = chain_in(root / "spool", "proxy")
    writer.write(scripted())
    writer.close()
    Shipper(root / "spool", opened).drain()
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def reader(store: ChdbStore) -> StateReader:
    return StateReader(store)


def summary(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "tasks": [(t["task_id"], t["profile"], t["grants"]) for t in state["tasks"]],
        "policy": [p["revision"] for p in state["policy"]],
        "credentials": [(c["credential"], c["version"], c["status"]) for c in state["credentials"]],
        "in_flight": [r["request_id"] for r in state["in_flight"]],
        "alerts": [a["alert_id"] for a in state["alerts"]],
    }


EXPECTED = {
    -1: {"tasks": [], "policy": ["A"], "credentials": [], "in_flight": [], "alerts": []},
    1.001: {
        "tasks": [(TASK, "dev", ["gh"])],
        "policy": ["A"],
        "credentials": [("gh", 1, "active")],
        "in_flight": ["r-short"],
        "alerts": [],
    },
    5: {
        "tasks": [(TASK, "dev", ["gh"])],
        "policy": ["A"],
        "credentials": [("gh", 1, "active")],
        "in_flight": ["r-long", "r-stream"],
        "alerts": [],
    },
    35: {
        "tasks": [(TASK, "dev", ["gh"])],
        "policy": ["B"],
        "credentials": [("gh", 2, "active")],
        "in_flight": [],
        "alerts": ["al-1"],
    },
    55: {"tasks": [], "policy": ["B"], "credentials": [], "in_flight": [], "alerts": []},
}


@pytest.mark.parametrize("minute", sorted(EXPECTED))
def test_state_at_five_instants(reader: StateReader, minute: float) -> None:
    state = reader.state_at(AGENT, at(minute), tenant=TENANT)
    assert summary(state) == EXPECTED[minute]


def test_actions_around_the_instant(reader: StateReader) -> None:
    state = reader.state_at(AGENT, at(15), tenant=TENANT, around=2)
    assert {e["kind"] for e in state["before"]} == {"http-request", "http-stream-end"}  # r-stream
    assert [e["kind"] for e in state["after"]] == ["alert-raised", "alert-resolved"]


def test_tenant_scope_hides_another_tenants_events(reader: StateReader) -> None:
    everyone = reader.state_at(AGENT, at(1.5), tenant=None, around=50)
    acme = reader.state_at(AGENT, at(1.5), tenant=TENANT, around=50)
    assert "other" in {e["tenant"] for e in everyone["before"]}
    assert "other" not in {e["tenant"] for e in acme["before"]}


def test_a_flow_gathers_every_event_of_its_request(store: ChdbStore) -> None:
    found = flow(store, "r-long", TENANT)
    assert found is not None and found["request"]["host"] == "pypi.org"
    assert [e["kind"] for e in found["injections"]] == ["credential-injected"]
    assert flow(store, "r-long", "other") is None
