"""Smoke tests for the benchmark harnesses: tiny sizes, every scenario, no timing asserts.

The proxy bench: the upstream, both proxies and both load generators work end to
end (every measured request answered ``200``). The reconstruction bench: the seeded
history is a valid, verifiable audit trail and every query type answers. They never
assert anything about speed: figures on a shared CI machine are noise.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.perf import bench_reconstruction as recon
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


def test_reconstruction_bench_seeds_a_verifiable_history_and_times_every_query(
    tmp_path: Path,
) -> None:
    cfg = recon.Config(
        events=20_000, agents=5, queries=5, warmup=1, cache_dir=tmp_path, diagnose=True, verify=True
    )
    r = recon.bench(cfg)
    print(recon.format_report(cfg, r))
    assert r.seeded_now and r.seed["events"] == 20_000 and r.seed["checked"] > 0
    assert r.verified["ok"] and r.verified["final"], r.verified  # every hash recomputed
    assert r.verified["events"] == r.rows > 20_000
    for name in recon.QUERIES:  # every call found something; a next page only if there is one
        assert (
            r.answered[name] == len(r.ms[name]) == (5 if "next" not in name else r.answered[name])
        )
    assert r.answered["agent timeline next"] > 0
    assert {"_tasks", "_credentials", "_policy", "_around", "_alerts"} <= set(r.sub_ms)
    assert "one fold query" in r.diagnosis and set(r.diagnosis) <= {*r.sub_ms, "one fold query"}
