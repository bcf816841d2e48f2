"""Proxy overhead benchmark: direct vs bare ``mitmdump`` vs Airlock, HTTP and HTTPS.

Run from the repository root::

    .venv/bin/python tests/perf/bench_proxy.py [--requests N] [--concurrency C] [--json]

Prints a table (and with ``--json`` also a JSON document). It measures and
reports; it asserts nothing about time. Exit status is 1 only if some request
did not complete with ``200``. See ``tests/perf/README.md`` for how to read it.
Importing this module has no side effects; call ``bench(Config(...))``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``tests.*`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.perf.loadgen import Target, latency, throughput
from tests.perf.procs import Proxy, airlock_proxy, bare_mitmdump, cpu_seconds
from tests.perf.upstream_fast import FastUpstream
from tests.support.env import CA_OVERRIDE_VARS, PROXY_VARS
from tests.support.tls import TestCA, make_ca

__all__ = ["Config", "Result", "bench", "format_table", "main"]

SCENARIOS = ("direct", "mitmdump", "airlock")
PROTOS = ("http", "https")


@dataclass(frozen=True)
class Config:
    requests: int = 1000  # throughput requests per scenario and protocol
    latency_requests: int = 400  # sequential requests for p50/p99
    concurrency: int = 8  # keep-alive connections for the throughput phase
    warmup: int = 100  # sequential + concurrent warm-up requests, not measured
    scenarios: tuple[str, ...] = SCENARIOS
    protos: tuple[str, ...] = PROTOS


@dataclass
class Result:
    scenario: str
    proto: str
    expected: int  # latency_requests + requests
    statuses: dict[int, int] = field(default_factory=dict)  # measured requests only
    errors: list[str] = field(default_factory=list)
    rps: float = 0.0
    p50_ms: float = math.nan
    p99_ms: float = math.nan
    added_p50_ms: float | None = None
    added_p99_ms: float | None = None
    cpu_ms_per_request: dict[str, float] = field(default_factory=dict)  # label -> ms

    @property
    def completed(self) -> int:
        return self.statuses.get(200, 0)

    @property
    def ok(self) -> bool:
        return not self.errors and self.completed == self.expected == sum(self.statuses.values())


def _percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of already-sorted values."""
    if not sorted_values:
        return math.nan
    return sorted_values[max(0, math.ceil(p / 100 * len(sorted_values)) - 1)]


def measure(scenario: str, proto: str, target: Target, pids: dict[str, int], cfg: Config) -> Result:
    """Warm up; latency phase (sequential); throughput phase (concurrent) with CPU deltas."""
    result = Result(scenario, proto, expected=cfg.latency_requests + cfg.requests)
    try:
        if cfg.warmup:
            latency(target, cfg.warmup)
            throughput(target, cfg.warmup, cfg.concurrency)
        times, statuses = latency(target, cfg.latency_requests)
        before = {label: cpu_seconds(pid) for label, pid in pids.items()}
        tp = throughput(target, cfg.requests, cfg.concurrency)
        after = {label: cpu_seconds(pid) for label, pid in pids.items()}
    except Exception as e:  # report, keep benchmarking the other scenarios
        result.errors.append(f"{type(e).__name__}: {e}")
        return result
    statuses.update(tp.statuses)
    result.statuses = dict(statuses)
    result.errors += tp.errors
    result.rps = tp.rps
    times.sort()
    result.p50_ms = _percentile(times, 50) * 1000
    result.p99_ms = _percentile(times, 99) * 1000
    loaded = max(1, sum(tp.statuses.values()))  # CPU is sampled around the loaded phase
    result.cpu_ms_per_request = {
        label: (after[label] - before[label]) * 1000 / loaded for label in pids
    }
    return result


@contextmanager
def _no_proxy() -> Iterator[None]:
    yield None


def _proxy_for(
    scenario: str, workdir: Path, ca: TestCA, ports: list[int]
) -> AbstractContextManager[Proxy | None]:
    if scenario == "direct":
        return _no_proxy()
    if scenario == "mitmdump":
        return bare_mitmdump(workdir, ca.cert_path)
    if scenario == "airlock":
        return airlock_proxy(workdir, ca.cert_path, ports)
    raise ValueError(f"unknown scenario {scenario!r}")


def _target(proxy: Proxy | None, port: int, tls: bool, ca: TestCA) -> Target:
    if proxy is None:
        return Target(port=port, tls=tls, ca=ca.cert_path)
    return Target(
        port=port, tls=tls, ca=proxy.ca, proxy=(proxy.host, proxy.port), proxy_auth=proxy.auth
    )


def bench(cfg: Config) -> list[Result]:
    """Run every scenario x protocol against one fast upstream; one proxy per scenario."""
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="airlock-bench-") as tmp_name:
        tmp = Path(tmp_name)
        ca = make_ca(tmp / "ca")
        with FastUpstream(ca.issue(tmp / "certs")) as up:
            ports = {"http": up.http_port, "https": up.https_port}
            for scenario in cfg.scenarios:
                todo = list(cfg.protos)
                try:
                    with _proxy_for(scenario, tmp / scenario, ca, list(ports.values())) as proxy:
                        pids = proxy.pids if proxy else {}
                        while todo:
                            proto = todo[0]
                            target = _target(proxy, ports[proto], proto == "https", ca)
                            results.append(measure(scenario, proto, target, pids, cfg))
                            todo.pop(0)
                except Exception as e:  # the proxy failed to start or to stop
                    for proto in todo:
                        failed = Result(scenario, proto, cfg.latency_requests + cfg.requests)
                        failed.errors.append(f"{type(e).__name__}: {e}")
                        results.append(failed)
                    if not todo:
                        results[-1].errors.append(f"while stopping: {type(e).__name__}: {e}")
    _fill_added(results)
    return results


def _fill_added(results: list[Result]) -> None:
    direct = {r.proto: r for r in results if r.scenario == "direct" and r.ok}
    for r in results:
        base = direct.get(r.proto)
        if base is not None and r.ok:
            r.added_p50_ms = r.p50_ms - base.p50_ms
            r.added_p99_ms = r.p99_ms - base.p99_ms


def _num(v: float | None, fmt: str = "{:.3f}") -> str:
    return "-" if v is None or math.isnan(v) else fmt.format(v)


def format_table(results: list[Result]) -> str:
    head = (
        "scenario",
        "proto",
        "ok/total",
        "req/s",
        "p50 ms",
        "p99 ms",
        "+p50 ms",
        "+p99 ms",
        "proxy CPU ms/req",
        "OPA CPU ms/req",
        "store CPU ms/req",
    )
    rows = [head]
    for r in results:
        cpu = r.cpu_ms_per_request
        rows.append(
            (
                r.scenario,
                r.proto,
                f"{r.completed}/{r.expected}",
                _num(r.rps, "{:.0f}"),
                _num(r.p50_ms),
                _num(r.p99_ms),
                _num(r.added_p50_ms),
                _num(r.added_p99_ms),
                _num(cpu.get("proxy")),
                _num(cpu.get("opa")),
                _num(cpu.get("store")),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = [
        "  ".join(
            c.rjust(w) if i > 1 else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for r in results:
        for err in r.errors[:3]:
            lines.append(f"! {r.scenario}/{r.proto}: {err}")
        if not r.errors and not r.ok:
            lines.append(f"! {r.scenario}/{r.proto}: statuses {r.statuses}")
    return "\n".join(lines)


def _document(cfg: Config, results: list[Result]) -> dict[str, object]:
    return {
        "config": asdict(cfg),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "loadavg_1m_end": os.getloadavg()[0],
        },
        "results": [{**asdict(r), "completed": r.completed, "ok": r.ok} for r in results],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="direct vs mitmdump vs Airlock: req/s, latency, CPU")
    d = Config()
    p.add_argument("--requests", type=int, default=d.requests, help="throughput requests")
    p.add_argument("--latency-requests", type=int, default=d.latency_requests)
    p.add_argument("--concurrency", type=int, default=d.concurrency)
    p.add_argument("--warmup", type=int, default=d.warmup)
    p.add_argument("--scenario", action="append", choices=SCENARIOS, help="repeatable")
    p.add_argument("--proto", action="append", choices=PROTOS, help="repeatable")
    p.add_argument("--json", action="store_true", help="also print a JSON document")
    a = p.parse_args(argv)
    for name in (*PROXY_VARS, *CA_OVERRIDE_VARS):  # clients must go where we tell them
        os.environ.pop(name, None)
    cfg = Config(
        requests=a.requests,
        latency_requests=a.latency_requests,
        concurrency=a.concurrency,
        warmup=a.warmup,
        scenarios=tuple(a.scenario or SCENARIOS),
        protos=tuple(a.proto or PROTOS),
    )
    load_before = os.getloadavg()[0]
    results = bench(cfg)
    print(
        f"# {os.cpu_count()} CPUs, load avg (1 min) {load_before:.2f} before / "
        f"{os.getloadavg()[0]:.2f} after; Python {platform.python_version()}"
    )
    print(
        f"# latency: {cfg.latency_requests} sequential requests on 1 connection; "
        f"req/s: {cfg.requests} requests over {cfg.concurrency} connections (asyncio)"
    )
    print(format_table(results))
    if a.json:
        print(json.dumps(_document(cfg, results), indent=2))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
