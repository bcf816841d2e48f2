"""Audit path benchmark: proxy → spool → ClickHouse under full proxy load.

Run from the repository root::

    .venv/bin/python tests/perf/bench_audit.py [--seconds S] [--concurrency C] [--json]

A real ``airlock up`` is loaded for S seconds by C keep-alive connections
(``loadgen.throughput``); meanwhile probe requests of a second task go through
the same proxy at ``--probe-rate`` per second and a poller asks the query API
(``/v1/events``) for each probe's event. It prints

* proxy req/s under that load;
* sustained events/s from proxy to queryable in ClickHouse (the store's
  ``airlock_events_shipped_total`` over the loaded window) and the backlog;
* time to queryable: p50 / p99 / max from a probe's response to its event being
  returned by the API (resolution: the poll interval);
* the audit path's own capacity, measured standalone after Airlock stopped: the
  real group committer (``gateway.runtime.open_spool``) with 1 and with C
  concurrent appenders, and the real shipper from that spool into chDB.

It asserts nothing about time. Exit status is 1 only if a request was not
answered ``200`` or a probe never became queryable. See tests/perf/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import ssl
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``tests.*`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx

from gateway.audit.events import AuditEvent
from gateway.audit.shipper import Shipper
from gateway.audit.store import open_store
from gateway.config import load_settings
from gateway.runtime import open_spool
from tests.perf.loadgen import HOST, Target, throughput
from tests.perf.procs import airlock_instance, cpu_seconds
from tests.perf.upstream_fast import FastUpstream
from tests.support.airlock import AirlockInstance
from tests.support.env import CA_OVERRIDE_VARS, PROXY_VARS
from tests.support.tls import make_ca

__all__ = ["Config", "Result", "bench", "format_report", "main"]

MAX_CHUNK = 2000  # throughput requests per loadgen call (about 1 s of load each)


@dataclass(frozen=True)
class Config:
    seconds: float = 20.0  # loaded window
    concurrency: int = 8  # keep-alive connections of the load
    probe_rate: float = 20.0  # probe requests per second (their own task)
    poll_interval: float = 0.1  # API poll period for probe events
    warmup: int = 200
    proto: str = "http"
    capacity_events: int = 20_000  # standalone spool / shipper measurement


@dataclass
class Result:
    requests: int = 0  # load + probes answered in the window
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    rps: float = 0.0
    ingest_eps: float = 0.0  # shipped events/s during the loaded window
    end_to_end_eps: float = 0.0  # window events / (window + drain)
    drain_seconds: float = math.nan  # load end → everything queryable
    max_pending_bytes: int = 0
    max_ship_lag_s: float = 0.0
    probes: int = 0
    probes_seen: int = 0
    ttq_ms: dict[str, float] = field(default_factory=dict)  # p50 / p99 / max
    cpu_ms_per_request: dict[str, float] = field(default_factory=dict)
    spool_eps_1: float = 0.0  # group committer, one appender (fsync-bound)
    spool_eps_c: float = 0.0  # group committer, C appenders
    events_per_fsync: float = 0.0
    ship_eps: float = 0.0  # shipper, spool → chDB

    @property
    def ok(self) -> bool:
        answered = sum(self.statuses.values())
        return (
            not self.errors
            and answered == self.statuses.get(200, -1)
            and self.probes_seen == self.probes > 0
        )


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# Observers -------------------------------------------------------------------


class Metrics:
    """``/metrics`` of the store: shipped events, pending spool bytes, ship lag."""

    def __init__(self, api_url: str) -> None:
        self.url = f"{api_url}/metrics"
        self.max_pending = 0
        self.max_lag = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> tuple[float, float]:
        """(events shipped so far, spool bytes not yet shipped)."""
        text = httpx.get(self.url, timeout=10).text
        pending = sum(
            float(v) for v in re.findall(r"^airlock_spool_pending_bytes\{.*\} (\S+)$", text, re.M)
        )
        lag = re.search(r"^airlock_ship_lag_seconds (\S+)$", text, re.M)
        self.max_pending = max(self.max_pending, int(pending))
        self.max_lag = max(self.max_lag, float(lag.group(1)) if lag else 0.0)
        found = re.search(r"^airlock_events_shipped_total (\S+)$", text, re.M)
        return (float(found.group(1)) if found else 0.0), pending

    def shipped(self) -> float:
        return self.sample()[0]

    def wait_idle(self, timeout: float = 30) -> None:
        """Until nothing is left to ship (the warm-up is out of the way)."""
        deadline = time.monotonic() + timeout
        while self.sample()[1] > 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        self.max_pending, self.max_lag = 0, 0.0

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.shipped()

    def __enter__(self) -> Metrics:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


class Probes:
    """Probe requests at a fixed rate, and a poller timing when each is queryable."""

    def __init__(self, instance: AirlockInstance, key: str, task: dict[str, Any], url: str):
        self.instance, self.key, self.task, self.url = instance, key, task, url
        self.sent: dict[str, tuple[float, float]] = {}  # request id -> (wall sent, mono answered)
        self.seen: dict[str, float] = {}  # request id -> mono first returned by the API
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._sending = threading.Event()
        self._polling = threading.Event()

    def start(self, rate: float, poll_interval: float) -> None:
        self._sending.set()
        self._polling.set()
        threading.Thread(target=self._send, args=(rate,), daemon=True).start()
        self._poller = threading.Thread(target=self._poll, args=(poll_interval,), daemon=True)
        self._poller.start()

    def stop_sending(self) -> None:
        self._sending.clear()

    def wait_seen(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.seen) < len(self.sent):
            time.sleep(0.05)
        self._polling.clear()
        self._poller.join()

    def delays_ms(self) -> list[float]:
        return [(self.seen[r] - self.sent[r][1]) * 1000 for r in self.seen]

    def _send(self, rate: float) -> None:
        verify = ssl.create_default_context(cafile=self.task["ca_cert"])
        with httpx.Client(proxy=self.task["proxy_url"], verify=verify, trust_env=False) as c:
            n = 0
            next_at = time.monotonic()
            while self._sending.is_set():
                wall = time.time()
                try:
                    resp = c.get(f"{self.url}/probe?n={n}", timeout=30)
                    assert resp.status_code == 200, resp.status_code
                    with self._lock:
                        rid = resp.headers["x-airlock-request-id"]
                        self.sent[rid] = (wall, time.monotonic())
                except (httpx.HTTPError, AssertionError, KeyError) as e:
                    self.errors.append(f"probe: {type(e).__name__}: {e}")
                n += 1
                next_at += 1 / rate
                time.sleep(max(0.0, next_at - time.monotonic()))

    def _poll(self, interval: float) -> None:
        while self._polling.is_set():
            with self._lock:
                pending = [w for r, (w, _) in self.sent.items() if r not in self.seen]
            if pending:
                try:
                    body = self.instance.events(
                        self.key,
                        task_id=self.task["task_id"],
                        kind="http-request",
                        order="asc",
                        limit=1000,
                        **{"from": f"{min(pending) - 1:.3f}"},
                    )
                except httpx.HTTPError as e:
                    self.errors.append(f"poll: {type(e).__name__}: {e}")
                    body = {"events": []}
                now = time.monotonic()
                with self._lock:
                    for event in body["events"]:
                        rid = event["request_id"]
                        if rid in self.sent and rid not in self.seen:
                            self.seen[rid] = now
            time.sleep(interval)


# Phases ------------------------------------------------------------------------


def loaded_window(
    instance: AirlockInstance, target: Target, pids: dict[str, int], cfg: Config, res: Result
) -> None:
    key = instance.api_key("auditor")
    probe_task = instance.create_task("bench-probe", "bench")
    scheme = "https" if cfg.proto == "https" else "http"
    probes = Probes(instance, key, probe_task, f"{scheme}://{HOST}:{target.port}")
    throughput(target, cfg.warmup, cfg.concurrency)
    with Metrics(instance.api_url) as metrics:
        metrics.wait_idle()
        shipped0, cpu0 = metrics.shipped(), {k: cpu_seconds(p) for k, p in pids.items()}
        t0 = time.monotonic()
        probes.start(cfg.probe_rate, cfg.poll_interval)
        chunk = 50
        while time.monotonic() - t0 < cfg.seconds:
            tp = throughput(target, chunk, cfg.concurrency)
            for status, n in tp.statuses.items():
                res.statuses[status] = res.statuses.get(status, 0) + n
            res.errors += tp.errors
            chunk = max(50, min(MAX_CHUNK, int(tp.rps)))  # the window ends about on time
        probes.stop_sending()
        t1 = time.monotonic()
        shipped1, cpu1 = metrics.shipped(), {k: cpu_seconds(p) for k, p in pids.items()}
        probes.wait_seen(60)
        res.probes, res.probes_seen = len(probes.sent), len(probes.seen)
        res.requests = sum(res.statuses.values()) + res.probes
        deadline = time.monotonic() + 60
        while metrics.shipped() < shipped0 + res.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        t2 = time.monotonic()
        res.max_pending_bytes, res.max_ship_lag_s = metrics.max_pending, metrics.max_lag
    res.errors += probes.errors[:5]
    res.rps = res.requests / (t1 - t0)
    res.ingest_eps = (shipped1 - shipped0) / (t1 - t0)
    res.end_to_end_eps = res.requests / (t2 - t0)
    res.drain_seconds = t2 - t1
    delays = probes.delays_ms()
    res.ttq_ms = {
        "p50": _percentile(delays, 50),
        "p99": _percentile(delays, 99),
        "max": max(delays, default=math.nan),
    }
    res.cpu_ms_per_request = {k: (cpu1[k] - cpu0[k]) * 1000 / res.requests for k in pids}


def sample_event(i: int) -> AuditEvent:
    return AuditEvent(
        kind="http-request",
        tenant="default",
        agent="bench",
        task_id="0196a4c2-1d2e-7f00-8000-000000000001",
        request_id=f"0196a4c2-1d2e-7f00-8000-{i:012d}",
        method="GET",
        scheme="http",
        host="localhost",
        port=8443,
        path="/v1/bench/resource",
        query="page=2",
        status=200,
        decision="allow",
        rules=("airlock.network.allow_profile",),
        reasons=("profile_allows",),
        policy_revision="3f1c2a9b7e5d4c1f8a6b2e0d9c7a5b3e1f2d4c6a",
        bytes_in=512,
        bytes_out=128,
        duration_ms=1.7,
        client_addr="127.0.0.1:51234",
        gateway_id="bench-gw",
    )


def audit_capacity(home: Path, cfg: Config, res: Result) -> None:
    """The real group committer and shipper alone: events/s each can take."""
    settings = load_settings(home=home)
    events = [sample_event(i) for i in range(cfg.capacity_events)]
    committer = open_spool(settings, "bench")
    try:

        async def append(todo: list[AuditEvent], appenders: int) -> float:
            async def appender() -> None:
                while todo:
                    await committer.append(todo.pop())

            t0 = time.perf_counter()
            await asyncio.gather(*(appender() for _ in range(appenders)))
            return time.perf_counter() - t0

        one = events[: max(1, len(events) // 20)]
        res.spool_eps_1 = len(one) / asyncio.run(append(list(one), 1))
        commits = committer.commits
        res.spool_eps_c = len(events) / asyncio.run(append(list(events), cfg.concurrency * 8))
        res.events_per_fsync = len(events) / max(1, committer.commits - commits)
    finally:
        committer.close()
    store = open_store(None, home / "chdb")
    try:
        shipper = Shipper(settings.spool_dir, store, batch_events=settings.ship_batch_events)
        t0 = time.perf_counter()
        shipped = shipper.drain()
        res.ship_eps = shipped / (time.perf_counter() - t0)
    finally:
        store.close()


def bench(cfg: Config) -> Result:
    res = Result()
    with tempfile.TemporaryDirectory(prefix="airlock-bench-audit-") as tmp_name:
        tmp = Path(tmp_name)
        ca = make_ca(tmp / "ca")
        try:
            with FastUpstream(ca.issue(tmp / "certs")) as up:
                ports = [up.http_port, up.https_port]
                with airlock_instance(tmp, ca.cert_path, ports) as (instance, proxy):
                    tls = cfg.proto == "https"
                    target = Target(
                        port=up.https_port if tls else up.http_port,
                        tls=tls,
                        ca=proxy.ca,
                        proxy=(proxy.host, proxy.port),
                        proxy_auth=proxy.auth,
                    )
                    loaded_window(instance, target, proxy.pids, cfg, res)
            audit_capacity(tmp / "capacity", cfg, res)
        except Exception as e:  # report what was measured so far
            res.errors.append(f"{type(e).__name__}: {e}")
    return res


# Report --------------------------------------------------------------------------


def _f(v: float, fmt: str = "{:.0f}") -> str:
    return "-" if v is None or math.isnan(v) else fmt.format(v)


def format_report(cfg: Config, r: Result) -> str:
    cpu = "  ".join(f"{k} {v:.3f}" for k, v in sorted(r.cpu_ms_per_request.items()))
    headroom = min(r.spool_eps_c, r.ship_eps) / r.rps if r.rps else math.nan
    kept_up = r.ingest_eps >= 0.9 * r.rps and r.drain_seconds < 2.0
    lines = [
        f"proxy                        {_f(r.rps)} req/s  ({r.requests} requests, "
        f"statuses {r.statuses}, {len(r.errors)} errors)",
        f"proxy → queryable            {_f(r.ingest_eps)} events/s during the load, "
        f"{_f(r.end_to_end_eps)} events/s including the drain "
        f"({_f(r.drain_seconds, '{:.2f}')} s after the load stopped)",
        f"time to queryable            p50 {_f(r.ttq_ms.get('p50', math.nan))} ms  "
        f"p99 {_f(r.ttq_ms.get('p99', math.nan))} ms  max {_f(r.ttq_ms.get('max', math.nan))} "
        f"ms  ({r.probes_seen}/{r.probes} probes, +{cfg.poll_interval * 1000:.0f} ms resolution)",
        f"backlog                      max {r.max_pending_bytes / 1e6:.2f} MB pending in the "
        f"spool, max ship lag {r.max_ship_lag_s:.2f} s",
        f"CPU ms/request               {cpu}",
        f"spool capacity (standalone)  {_f(r.spool_eps_1)} events/s with 1 appender, "
        f"{_f(r.spool_eps_c)} events/s with {cfg.concurrency * 8} "
        f"({_f(r.events_per_fsync, '{:.1f}')} events per fsync)",
        f"ship capacity (standalone)   {_f(r.ship_eps)} events/s spool → chDB",
        f"audit path limits the proxy: {'no' if kept_up and headroom > 1 else 'YES'} "
        f"(ingest kept up: {'yes' if kept_up else 'no'}; audit capacity "
        f"{_f(headroom, '{:.1f}')}x proxy rate); p99 time to queryable < 2 s: "
        f"{'yes' if r.ttq_ms.get('p99', math.inf) < 2000 else 'NO'}",
    ]
    lines += [f"! {e}" for e in r.errors[:5]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="proxy → spool → ClickHouse: events/s, delay")
    d = Config()
    p.add_argument("--seconds", type=float, default=d.seconds, help="loaded window")
    p.add_argument("--concurrency", type=int, default=d.concurrency)
    p.add_argument("--probe-rate", type=float, default=d.probe_rate, help="probes per second")
    p.add_argument("--poll-interval", type=float, default=d.poll_interval)
    p.add_argument("--warmup", type=int, default=d.warmup)
    p.add_argument("--proto", choices=("http", "https"), default=d.proto)
    p.add_argument("--capacity-events", type=int, default=d.capacity_events)
    p.add_argument("--json", action="store_true", help="also print a JSON document")
    a = p.parse_args(argv)
    for name in (*PROXY_VARS, *CA_OVERRIDE_VARS):  # clients must go where we tell them
        os.environ.pop(name, None)
    cfg = Config(
        seconds=a.seconds,
        concurrency=a.concurrency,
        probe_rate=a.probe_rate,
        poll_interval=a.poll_interval,
        warmup=a.warmup,
        proto=a.proto,
        capacity_events=a.capacity_events,
    )
    load_before = os.getloadavg()[0]
    result = bench(cfg)
    print(
        f"# {os.cpu_count()} CPUs, load avg (1 min) {load_before:.2f} before / "
        f"{os.getloadavg()[0]:.2f} after"
    )
    print(
        f"# {cfg.seconds:.0f} s of full load over {cfg.concurrency} connections ({cfg.proto}), "
        f"probes {cfg.probe_rate:.0f}/s, API polled every {cfg.poll_interval * 1000:.0f} ms"
    )
    print(format_report(cfg, result))
    if a.json:
        print(json.dumps({"config": asdict(cfg), "result": asdict(result)}, indent=2))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
