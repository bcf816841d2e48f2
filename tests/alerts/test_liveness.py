"""Liveness over real chDB, a real SQLite control plane and a real webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.alerts.liveness import LivenessConfig, LivenessMonitor, classify
from gateway.audit.events import AuditEvent
from gateway.audit.shipper import Shipper
from gateway.audit.store import ChdbStore, open_store
from gateway.control.db import make_engine, make_sessionmaker
from gateway.control.tasks import TaskService
from tests.support.chain import chain_in
from tests.support.webhook import WebhookReceiver

CONFIG = LivenessConfig(idle_seconds=60, stall_seconds=300)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbStore]:
    s = open_store(None, tmp_path_factory.mktemp("chdb"))
    assert isinstance(s, ChdbStore)
    yield s
    s.close()


def test_classify_by_quiet_time() -> None:
    now = datetime.now(UTC)
    assert classify(now - timedelta(seconds=10), now, CONFIG) == "active"
    assert classify(now - timedelta(seconds=61), now, CONFIG) == "idle"
    assert classify(now - timedelta(seconds=301), now, CONFIG) == "stalled"


def test_a_quiet_task_alerts_once_calls_the_webhook_and_resolves_on_traffic(
    tmp_path: Path, store: ChdbStore
) -> None:
    tasks = TaskService(make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'c.db'}")))
    info, _ = tasks.create(tenant="acme", agent="alice", profile="dev", ttl=timedelta(hours=2))
    recorded: list[AuditEvent] = []
    spool = tmp_path / "spool"

    def ship(*events: AuditEvent) -> None:
        writer = chain_in(spool, "test")
        writer.write(list(events))
        writer.close()
        Shipper(spool, store).drain()

    def record(event: AuditEvent) -> None:
        recorded.append(event)
        ship(event)

    with WebhookReceiver() as hook:
        config = LivenessConfig(60, 300, (hook.url,))
        monitor = LivenessMonitor(store, tasks, config, record, "gw")
        monitor.load()
        now = info.created_at + timedelta(seconds=30)
        assert monitor.check(now)[info.task_id] == "active"
        later = info.created_at + timedelta(seconds=400)
        assert monitor.check(later)[info.task_id] == "stalled"
        assert monitor.check(later + timedelta(seconds=5))[info.task_id] == "stalled"
        assert [e.kind for e in recorded] == ["alert-raised", "alert-notified"]  # once
        assert len(hook.received) == 1 and hook.received[0]["kind"] == "alert-raised"
        assert hook.received[0]["task_id"] == info.task_id
        assert recorded[1].detail[f"webhook 1 {hook.url.split('/')[2]}"] == "204"

        restarted = LivenessMonitor(store, tasks, config, record, "gw")
        restarted.load()  # the open alert is remembered: no second alert after a restart
        restarted.check(later + timedelta(seconds=10))
        assert len(hook.received) == 1

        ship(
            AuditEvent(
                kind="http-request",
                ts=later + timedelta(seconds=20),
                tenant="acme",
                agent="alice",
                task_id=info.task_id,
            )
        )
        assert restarted.check(later + timedelta(seconds=21))[info.task_id] == "active"
        assert recorded[-1].kind == "alert-resolved"
        assert recorded[-1].detail["alert_id"] == recorded[0].detail["alert_id"]


def test_killing_a_stalled_task_resolves_its_alert(tmp_path: Path, store: ChdbStore) -> None:
    tasks = TaskService(make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'c.db'}")))
    info, _ = tasks.create(tenant="acme", agent="carol", profile="dev", ttl=timedelta(hours=2))
    recorded: list[AuditEvent] = []
    monitor = LivenessMonitor(store, tasks, CONFIG, recorded.append, "gw")
    later = info.created_at + timedelta(seconds=400)
    assert monitor.check(later)[info.task_id] == "stalled"
    tasks.kill(info.task_id)
    assert info.task_id not in monitor.check(later + timedelta(seconds=1))
    assert [e.kind for e in recorded] == ["alert-raised", "alert-resolved"]
    assert recorded[1].detail["resolved_by"] == "killed"


def test_an_expired_task_is_recorded_once(tmp_path: Path, store: ChdbStore) -> None:
    tasks = TaskService(make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'c.db'}")))
    info, _ = tasks.create(tenant="acme", agent="bob", profile="dev", ttl=timedelta(seconds=60))
    recorded: list[AuditEvent] = []
    monitor = LivenessMonitor(store, tasks, CONFIG, recorded.append, "gw")
    after = info.expires_at + timedelta(seconds=1)
    monitor.check(after)
    monitor.check(after + timedelta(seconds=1))
    assert [(e.kind, e.task_id) for e in recorded] == [("task-expired", info.task_id)]
