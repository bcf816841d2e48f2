"""Prometheus metrics for the store process (a registry per app, not global)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway.audit.committer import STATUS_FILE
from gateway.audit.shipper import ShipperStats, pending_bytes
from gateway.audit.spool import spool_bytes


def _status(stream_dir: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((stream_dir / STATUS_FILE).read_text()))
    except (FileNotFoundError, ValueError):
        return {}


class ShipperCollector(Collector):
    def __init__(self, stats: Callable[[], ShipperStats], spool_dir: Path):
        self._stats = stats
        self._spool_dir = spool_dir

    def _spool_bytes(self) -> int:
        return spool_bytes(self._spool_dir)

    def _streams(self) -> list[Path]:
        if not self._spool_dir.exists():
            return []
        return sorted(p for p in self._spool_dir.iterdir() if p.is_dir())

    def collect(self) -> Iterator[Metric]:
        stats = self._stats()
        yield CounterMetricFamily(
            "airlock_events_shipped", "Audit events shipped into ClickHouse", value=stats.shipped
        )
        yield CounterMetricFamily(
            "airlock_ship_failures", "Failed shipping attempts (retried)", value=stats.failures
        )
        yield CounterMetricFamily(
            "airlock_spool_corrupt_skips",
            "Damaged spool tails skipped",
            value=stats.corrupt_skips,
        )
        yield GaugeMetricFamily(
            "airlock_spool_bytes",
            "Bytes in the audit spool not yet deleted",
            value=self._spool_bytes(),
        )
        yield GaugeMetricFamily(
            "airlock_ship_lag_seconds",
            "Event time to ClickHouse insert, oldest event of the last shipped batch",
            value=stats.lag_seconds,
        )
        pending = GaugeMetricFamily(
            "airlock_spool_pending_bytes", "Spool bytes not yet shipped", labels=["stream"]
        )
        blocked = CounterMetricFamily(
            "airlock_spool_blocked_seconds",
            "Time new traffic was refused because the spool could not take more",
            labels=["stream"],
        )
        blocked_now = GaugeMetricFamily(
            "airlock_spool_blocked", "1 while a writer refuses new traffic", labels=["stream"]
        )
        for stream_dir in self._streams():
            pending.add_metric([stream_dir.name], pending_bytes(stream_dir))
            status = _status(stream_dir)
            blocked.add_metric([stream_dir.name], float(status.get("blocked_seconds", 0.0)))
            blocked_now.add_metric([stream_dir.name], 1.0 if status.get("blocked") else 0.0)
        yield pending
        yield blocked
        yield blocked_now
        since = time.time() - stats.last_ship if stats.last_ship else 0.0
        yield GaugeMetricFamily(
            "airlock_seconds_since_last_ship", "Seconds since the last shipped batch", value=since
        )


def build_registry(stats: Callable[[], ShipperStats], spool_dir: Path) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(ShipperCollector(stats, spool_dir))
    Gauge("airlock_up", "The store process is running", registry=registry).set(1)
    return registry
