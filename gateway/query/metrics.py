"""Prometheus metrics for the store process (a registry per app, not global)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway.audit.shipper import ShipperStats
from gateway.audit.spool import spool_bytes


class ShipperCollector(Collector):
    def __init__(self, stats: Callable[[], ShipperStats], spool_dir_bytes: Callable[[], int]):
        self._stats = stats
        self._spool_bytes = spool_dir_bytes

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
        since = time.time() - stats.last_ship if stats.last_ship else 0.0
        yield GaugeMetricFamily(
            "airlock_seconds_since_last_ship", "Seconds since the last shipped batch", value=since
        )


def build_registry(stats: Callable[[], ShipperStats], spool_dir: Path) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(ShipperCollector(stats, lambda: spool_bytes(spool_dir)))
    Gauge("airlock_up", "The store process is running", registry=registry).set(1)
    return registry
