"""The UI over a real chDB store, a real signed chain and a real SQLite control plane.

Two tenants: ``acme`` (agent alice: a task, an allowed request with a redacted
secret and an injected credential, a denied request, alerts) and ``globex``
(agent gwen). Events reach chDB the production way (chained, signed, shipped).
``audit-viewed`` events the UI records are collected in ``Ui.recorded``.
chDB allows one data directory per process at a time: the store is shared by the
package and closed when its last test is done.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gateway.audit import sealer
from gateway.audit.events import AuditEvent
from gateway.audit.shipper import Shipper
from gateway.audit.store import ChdbStore, open_store
from gateway.control.db import make_engine, make_sessionmaker
from gateway.control.keys import ApiKeyService
from gateway.query.app import AppDeps, create_app
from tests.support.chain import signer_in, write_chain

T0 = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
MARKER = "[REDACTED:github_pat:fp=1a2b3c4d]"
FINGERPRINT = "1a2b3c4d5e6f7a8b"


def at(minutes: float, seconds: float = 0) -> datetime:
    return T0 + timedelta(minutes=minutes, seconds=seconds)


def acme_events() -> list[AuditEvent]:
    task = {"tenant": "acme", "agent": "alice", "task_id": "tsk_alice1"}
    allowed = {**task, "request_id": "req-allow", "host": "api.github.com", "port": 443}
    return [
        AuditEvent(kind="policy-loaded", ts=at(-10), gateway_id="gw", detail={"revision": "revA"}),
        AuditEvent(kind="credential-added", ts=at(-5), detail={"credential": "gh", "version": "1"}),
        AuditEvent(
            kind="task-created",
            ts=at(0),
            **task,
            detail={"profile": "dev", "expires_at": at(120).isoformat()},
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
            **allowed,
            method="GET",
            scheme="https",
            path="/user",
            query=f"token={MARKER}",
            status=200,
            decision="allow",
            rules=("airlock.network.allow",),
            policy_revision="revA",
        ),
        AuditEvent(
            kind="secret-finding",
            ts=at(1),
            **allowed,
            detail={
                "detector": "github_pat",
                "direction": "outbound",
                "location": "query",
                "offset": "6",
                "fingerprint": FINGERPRINT,
                "action": "redacted",
            },
        ),
        AuditEvent(
            kind="credential-injected",
            ts=at(1),
            **allowed,
            detail={"credential": "gh", "version": "1", "header": "authorization"},
        ),
        AuditEvent(
            kind="http-request",
            ts=at(2),
            **task,
            request_id="req-deny",
            method="GET",
            scheme="https",
            host="evil.example",
            port=443,
            path="/",
            status=403,
            decision="deny",
            reasons=("destination_not_allowed",),
            rules=("airlock.network.destination_not_allowed",),
            policy_revision="revA",
        ),
        AuditEvent(
            kind="alert-raised",
            ts=at(5),
            **task,
            detail={"alert": "task-idle", "alert_id": "al-1"},
        ),
        AuditEvent(
            kind="alert-resolved",
            ts=at(7),
            **task,
            detail={"alert": "task-idle", "alert_id": "al-1"},
        ),
        AuditEvent(
            kind="alert-raised",
            ts=at(8),
            **task,
            detail={"alert": "task-stalled", "alert_id": "al-2"},
        ),
    ]


def globex_events() -> list[AuditEvent]:
    task = {"tenant": "globex", "agent": "gwen", "task_id": "tsk_gwen1"}
    return [
        AuditEvent(kind="task-created", ts=at(3), **task, detail={"profile": "dev"}),
        AuditEvent(
            kind="http-request",
            ts=at(4),
            **task,
            request_id="req-globex",
            host="pypi.org",
            decision="allow",
            status=200,
        ),
    ]


@dataclass
class Ui:
    app: FastAPI
    keys: ApiKeyService
    audit_keys: dict[str, str]
    recorded: list[AuditEvent] = field(default_factory=list)

    def key(self, role: str, tenant: str = "*") -> tuple[str, str]:
        return self.keys.create(role=role, tenant=tenant)

    def client(self, https: bool = False) -> TestClient:
        base = "https://testserver" if https else "http://testserver"
        return TestClient(self.app, base_url=base, raise_server_exceptions=True)

    def login(self, key: str, https: bool = False) -> TestClient:
        client = self.client(https)
        response = login(client, key)
        assert response.status_code == 200 and "/ui/search" in str(response.url), response.text
        return client

    def views(self, what: str) -> list[dict[str, Any]]:
        return [e.detail for e in self.recorded if e.detail.get("what") == what]


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def login(client: TestClient, key: str, next_url: str = "") -> Any:
    form = client.get("/ui/login" + (f"?next={next_url}" if next_url else ""))
    data = {"api_key": key, "csrf": csrf_of(form.text), "next": next_url}
    return client.post("/ui/login", data=data)


@pytest.fixture(scope="package")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ui]:
    root = tmp_path_factory.mktemp("ui")
    store = open_store(None, root / "chdb")
    assert isinstance(store, ChdbStore)
    with pytest.MonkeyPatch.context() as patch:  # checkpoints around the events, not at now
        patch.setattr(sealer, "now_utc", iter([at(-20), at(30), at(60)]).__next__)
        write_chain(root / "spool", "proxy", [acme_events(), globex_events()])
    shipper = Shipper(root / "spool", store)
    shipper.drain()
    signer = signer_in(root)
    keys = ApiKeyService(make_sessionmaker(make_engine(f"sqlite:///{root}/control.db")))
    recorded: list[AuditEvent] = []
    audit_keys = {signer.key_id: signer.public_pem()}
    deps = AppDeps(
        store=store,
        keys=keys,
        shipper=shipper,
        spool_dir=root / "spool",
        audit_keys=audit_keys,
        record=recorded.append,
        evidence_margin=0,
    )
    try:
        yield Ui(create_app(deps), keys, audit_keys, recorded)
    finally:
        store.close()
