"""Smoke test for the proxy benchmark harness: tiny sizes, every scenario, no timing asserts.

It proves that the upstream, both proxies and both load generators work end to
end (every measured request answered ``200``). It never asserts anything about
speed: figures on a shared CI machine are noise.
"""

from __future__ import annotations

import pytest

from tests.perf.bench_proxy import PROTOS, SCENARIOS, Config, bench, format_table

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_every_scenario_completes_all_requests_with_200() -> None:
    cfg = Config(requests=20, latency_requests=20, concurrency=2, warmup=2)
    results = bench(cfg)
    print(format_table(results))
    assert [(r.scenario, r.proto) for r in results] == [(s, p) for s in SCENARIOS for p in PROTOS]
    for r in results:
        assert r.errors == [], (r.scenario, r.proto, r.errors)
        assert r.statuses == {200: 40}, (r.scenario, r.proto, r.statuses)
        assert r.ok
