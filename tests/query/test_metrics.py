"""/metrics figures for the audit path: pending spool, ship lag, blocked time."""

from __future__ import annotations

import time
from pathlib import Path

from prometheus_client import generate_latest

from gateway.audit.committer import GroupCommitter
from gateway.audit.events import AuditEvent
from gateway.audit.shipper import Shipper
from gateway.errors import SpoolError
from gateway.query.metrics import build_registry
from tests.support.chain import chain_in


class ListStore:
    """Stands in for ClickHouse: these tests are about the counters, not the insert."""

    name = "list"

    def insert_rows(self, rows: bytes, dedup_token: str) -> None:
        pass


def sample(text: str, name: str, stream: str | None = None) -> float:
    label = f'{{stream="{stream}"}}' if stream else ""
    for line in text.splitlines():
        if line.startswith(f"{name}{label} "):
            return float(line.split()[-1])
    raise AssertionError(f"{name}{label} not in metrics")


def test_pending_bytes_and_lag_follow_the_shipper(tmp_path: Path) -> None:
    writer = chain_in(tmp_path, "proxy")
    writer.write([AuditEvent(kind="http-request", host=f"h{i}") for i in range(20)])
    shipper = Shipper(tmp_path, ListStore())  # type: ignore[arg-type]
    registry = build_registry(lambda: shipper.stats, tmp_path)
    before = generate_latest(registry).decode()
    assert sample(before, "airlock_spool_pending_bytes", "proxy") > 0
    time.sleep(0.2)
    shipper.drain()
    after = generate_latest(registry).decode()
    assert sample(after, "airlock_spool_pending_bytes", "proxy") == 0
    assert sample(after, "airlock_ship_lag_seconds") >= 0.2  # the oldest event waited
    writer.close()


def test_blocked_time_is_published_while_the_spool_refuses(tmp_path: Path) -> None:
    committer = GroupCommitter(chain_in(tmp_path, "proxy"), tmp_path, max_bytes=1500)
    registry = build_registry(lambda: Shipper(tmp_path, ListStore()).stats, tmp_path)  # type: ignore[arg-type]
    committer.append_sync(AuditEvent(kind="http-request", path="x" * 2000))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            committer.check_capacity()
        except SpoolError:
            break
        time.sleep(0.05)
    time.sleep(0.6)
    text = generate_latest(registry).decode()
    assert sample(text, "airlock_spool_blocked", "proxy") == 1.0
    assert sample(text, "airlock_spool_blocked_seconds_total", "proxy") > 0.3
    committer.close()
