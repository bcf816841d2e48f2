"""Smoke test for the audit path benchmark: tiny sizes, no timing asserts.

It proves that the load, the probes, the API poller, the metrics sampler and the
standalone spool and shipper measurements all work end to end: every request is
answered ``200``, every probe's event becomes queryable, every stage reports a
figure. It never asserts anything about speed.
"""

from __future__ import annotations

import math

import pytest

from tests.perf.bench_audit import Config, bench, format_report

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_every_stage_of_the_audit_bench_reports_a_figure() -> None:
    cfg = Config(seconds=2, concurrency=2, probe_rate=10, warmup=10, capacity_events=300)
    r = bench(cfg)
    print(format_report(cfg, r))
    assert r.errors == []
    assert set(r.statuses) == {200}
    assert r.probes_seen == r.probes > 0
    assert r.ok
    assert all(math.isfinite(v) and v >= 0 for v in r.ttq_ms.values())
    figures = (r.rps, r.ingest_eps, r.end_to_end_eps, r.spool_eps_1, r.spool_eps_c, r.ship_eps)
    assert all(v > 0 for v in figures), figures
    assert set(r.cpu_ms_per_request) == {"proxy", "opa", "store"}
