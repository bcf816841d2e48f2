"""Prometheus metrics of the export process, one series per sink."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway.config import parse_listen
from gateway.export.delivery import SinkRunner


class ExportCollector(Collector):
    def __init__(self, runners: Sequence[SinkRunner]) -> None:
        self._runners = runners

    def collect(self) -> Iterator[Metric]:
        families: dict[str, CounterMetricFamily | GaugeMetricFamily] = {
            "delivered": CounterMetricFamily(
                "airlock_export_delivered", "Records acknowledged by the sink", labels=["sink"]
            ),
            "dead_letters": CounterMetricFamily(
                "airlock_export_dead_letters", "Records refused for good", labels=["sink"]
            ),
            "failures": CounterMetricFamily(
                "airlock_export_failures", "Failed pushes (each is retried)", labels=["sink"]
            ),
            "feed_errors": CounterMetricFamily(
                "airlock_export_feed_errors", "Failed reads of the query API", labels=["sink"]
            ),
            "lag": GaugeMetricFamily(
                "airlock_export_lag_seconds",
                "Age of the oldest event not yet acknowledged (0 when caught up)",
                labels=["sink"],
            ),
            "failing": GaugeMetricFamily(
                "airlock_export_failing", "1 while the sink's pushes fail", labels=["sink"]
            ),
            "last": GaugeMetricFamily(
                "airlock_export_last_delivery_timestamp_seconds",
                "Unix time of the last acknowledged batch",
                labels=["sink"],
            ),
        }
        for runner in self._runners:
            name, stats = [runner.sink.name], runner.stats
            families["delivered"].add_metric(name, stats.delivered)
            families["dead_letters"].add_metric(name, stats.dead_letters)
            families["failures"].add_metric(name, stats.failures)
            families["feed_errors"].add_metric(name, stats.feed_errors)
            families["lag"].add_metric(name, stats.current_lag())
            families["failing"].add_metric(name, 1.0 if stats.failing else 0.0)
            families["last"].add_metric(name, stats.last_delivery)
        yield from families.values()


def serve_metrics(listen: str, runners: Sequence[SinkRunner]) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(ExportCollector(runners))
    host, port = parse_listen(listen)
    start_http_server(port, addr=host, registry=registry)
    return registry
