"""Reconstruction queries over a generated history: state at an instant, timelines, flows.

Run from the repository root::

    .venv/bin/python tests/perf/bench_reconstruction.py [--events 1000000] [--agents 50]
        [--queries 200] [--variant baseline] [--explain] [--verify] [--json]

The history comes from ``tests/perf/seed_history.py`` (the first run seeds it, about
1-3 minutes for a million events; the chDB directory is cached under
``$TMPDIR/airlock-bench-cache/`` by parameters and seeder version, so reruns start at
once). Then, for ``--queries`` random agents, instants, tasks and request ids, it times
the calls the API routes make: ``StateReader.state_at`` (tenant-scoped and admin), an
agent timeline page (one day from the instant, 100 events, ascending) and the next page
by its cursor, a task timeline page and its next page, and ``flow`` by request id. It
prints p50 / p99 / max per query type, the state_at sub-queries and what ClickHouse
estimates each reads (``EXPLAIN ESTIMATE``). ``--variant`` runs the same queries on a
copy of the store with a candidate projection or index added (see ``VARIANTS``).
It asserts nothing about time. See tests/perf/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``tests.*`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gateway.audit.schema import EVENTS_TABLE, MIGRATIONS
from gateway.audit.signing import key_id, load_public_pem
from gateway.audit.store import AuditStore, open_store
from gateway.audit.window import verify_window
from gateway.query.events_query import EventFilter, build_query, page
from gateway.query.state import ALERT_KINDS, SELECT, TASK_KINDS, StateReader, flow
from tests.perf import seed_history
from tests.perf.seed_history import MARKER

__all__ = ["QUERIES", "VARIANTS", "Config", "Result", "bench", "format_report", "main"]

T = EVENTS_TABLE
QUERIES = (
    "state_at (tenant)",
    "state_at (admin)",
    "agent timeline",
    "agent timeline next",
    "task timeline",
    "task timeline next",
    "flow",
    "SELECT 1 (floor)",
)
# Candidate fixes, applied to a copy of the seeded store and materialised (--variant).
SYNC = "SETTINGS mutations_sync = 1"
TASK_INDEX = (
    f"ALTER TABLE {T} ADD INDEX IF NOT EXISTS idx_task task_id TYPE bloom_filter GRANULARITY 1",
    f"ALTER TABLE {T} MATERIALIZE INDEX idx_task {SYNC}",
)
KIND_INDEX = (
    f"ALTER TABLE {T} ADD INDEX IF NOT EXISTS idx_kind kind TYPE set(64) GRANULARITY 1",
    f"ALTER TABLE {T} MATERIALIZE INDEX idx_kind {SYNC}",
)
REQUEST_INDEX_1 = (  # the existing bloom filter, one per granule instead of per four
    f"ALTER TABLE {T} DROP INDEX IF EXISTS idx_request",
    f"ALTER TABLE {T} ADD INDEX idx_request request_id TYPE bloom_filter GRANULARITY 1",
    f"ALTER TABLE {T} MATERIALIZE INDEX idx_request {SYNC}",
)
VARIANTS: dict[str, tuple[str, ...]] = {
    "baseline": (),
    "task-index": TASK_INDEX,
    "kind-index": KIND_INDEX,
    "request-index": REQUEST_INDEX_1,
    "indexes": TASK_INDEX + KIND_INDEX + REQUEST_INDEX_1,
    "task-projection": (
        f"ALTER TABLE {T} ADD PROJECTION IF NOT EXISTS by_task "
        "(SELECT * ORDER BY task_id, ts, event_id)",
        f"ALTER TABLE {T} MATERIALIZE PROJECTION by_task {SYNC}",
    ),
    "kind-projection": (
        f"ALTER TABLE {T} ADD PROJECTION IF NOT EXISTS by_kind "
        "(SELECT * ORDER BY tenant, agent, kind, ts, event_id)",
        f"ALTER TABLE {T} MATERIALIZE PROJECTION by_kind {SYNC}",
    ),
}
VARIANT_MARKER = "airlock-variant.json"
# --diagnose: state_at's queries again with only the columns its folds read
NARROW = (
    "SELECT kind, tenant, task_id, event_id, gateway_id, detail, "
    f"formatDateTime(ts, '%Y-%m-%d %H:%i:%S.%f') AS ts_raw FROM {T}"
)
FOLD_KINDS = (*TASK_KINDS, "grant-created", *ALERT_KINDS)
TIMELINE_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class Config:
    events: int = 1_000_000
    agents: int = 50
    tenants: int = 5
    days: int = 7
    seed: int = 1
    queries: int = 200
    warmup: int = 10
    workers: int = 2  # seeding processes
    variant: str = "baseline"
    cache_dir: Path = Path(tempfile.gettempdir()) / "airlock-bench-cache"
    store: Path | None = None  # a directory made by ``seed_history --out`` instead
    fresh: bool = False  # seed again even if cached
    explain: bool = False
    diagnose: bool = False
    verify: bool = False


@dataclass
class Result:
    store_dir: str = ""
    seeded_now: bool = False
    seed: dict[str, Any] = field(default_factory=dict)  # the seed's report
    rows: int = 0
    parts: int = 0
    bytes_on_disk: int = 0
    ms: dict[str, list[float]] = field(default_factory=dict)  # per query type, warm
    first_ms: dict[str, float] = field(default_factory=dict)  # the first (cold) call
    answered: dict[str, int] = field(default_factory=dict)  # calls that found something
    sub_ms: dict[str, list[float]] = field(default_factory=dict)  # state_at's queries
    estimate: dict[str, str] = field(default_factory=dict)  # EXPLAIN ESTIMATE per query
    explain: dict[str, str] = field(default_factory=dict)  # EXPLAIN indexes = 1
    diagnosis: dict[str, list[float]] = field(default_factory=dict)  # as is, narrow (p50)
    verified: dict[str, Any] = field(default_factory=dict)


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# The store ---------------------------------------------------------------------


def cache_key(cfg: Config) -> str:
    """Parameters plus a digest of the seeder and the schema: either changing reseeds."""
    source = Path(seed_history.__file__).read_bytes() + repr(MIGRATIONS).encode()
    digest = hashlib.sha256(source).hexdigest()[:10]
    return f"history-e{cfg.events}-a{cfg.agents}-t{cfg.tenants}-d{cfg.days}-s{cfg.seed}-{digest}"


def prepare(cfg: Config, res: Result) -> Path:
    """The seeded chDB directory for ``cfg`` (seeding it if needed), with the variant."""
    if cfg.store is not None:
        base = cfg.store
    else:
        base = cfg.cache_dir / cache_key(cfg)
        if cfg.fresh or not (base / MARKER).exists():
            shutil.rmtree(base, ignore_errors=True)
            base.parent.mkdir(parents=True, exist_ok=True)
            seed_history.seed_dir(
                base,
                events=cfg.events,
                agents=cfg.agents,
                tenants=cfg.tenants,
                days=cfg.days,
                seed=cfg.seed,
                workers=cfg.workers,
            )
            res.seeded_now = True
    res.seed = json.loads((base / MARKER).read_text())
    if cfg.variant == "baseline":
        return base
    path = base.parent / f"{base.name}-{cfg.variant}"
    if cfg.fresh or res.seeded_now or not (path / VARIANT_MARKER).exists():
        shutil.rmtree(path, ignore_errors=True)
        shutil.copytree(base, path, symlinks=True)  # chDB links metadata to store/
        store = open_store(None, path)
        try:
            for sql in VARIANTS[cfg.variant]:
                store.execute(sql)
        finally:
            store.close()
        (path / VARIANT_MARKER).write_text(json.dumps({"ddl": VARIANTS[cfg.variant]}) + "\n")
    return path


class TimedStore:
    """Times each query by the ``StateReader`` method that made it (``_tasks``, ...)."""

    def __init__(self, store: AuditStore) -> None:
        self.store = store
        self.ms: dict[str, list[float]] = defaultdict(list)
        self.last: dict[str, tuple[str, dict[str, Any]]] = {}

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        frame = sys._getframe(1)
        if frame.f_code.co_name == "_events" and frame.f_back is not None:
            frame = frame.f_back
        started = time.perf_counter()
        rows = self.store.query(sql, params)
        self.ms[frame.f_code.co_name].append((time.perf_counter() - started) * 1000)
        self.last[frame.f_code.co_name] = (sql, params or {})
        return rows

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


# The queries -------------------------------------------------------------------


@dataclass
class Sample:
    agents: list[tuple[str, str, int, int]]  # tenant, agent, first and last event (µs)
    tasks: list[str]
    requests: list[str]


def sample(store: AuditStore, n: int, seed: int) -> Sample:
    """Agents, tasks and request ids to ask about (not timed)."""
    agents = store.query(
        "SELECT tenant, agent, toUnixTimestamp64Micro(min(ts)) AS lo, "
        f"toUnixTimestamp64Micro(max(ts)) AS hi FROM {T} WHERE agent != '' "
        "GROUP BY tenant, agent ORDER BY tenant, agent"
    )
    tasks = store.query(
        f"SELECT DISTINCT task_id FROM {T} WHERE kind = 'task-created' "
        f"ORDER BY cityHash64(task_id, {int(seed)}) LIMIT {int(n)}"
    )
    requests = store.query(
        f"SELECT request_id FROM {T} WHERE kind = 'http-request' "
        f"ORDER BY cityHash64(request_id, {int(seed)}) LIMIT {int(n)}"
    )
    return Sample(
        [(a["tenant"], a["agent"], int(a["lo"]), int(a["hi"])) for a in agents],
        [t["task_id"] for t in tasks],
        [r["request_id"] for r in requests],
    )


def _timeline(store: AuditStore, f: EventFilter) -> tuple[list[dict[str, Any]], str | None]:
    return page(store.query(*build_query(f)), f.limit)


def _calls(
    store: AuditStore, reader: StateReader, s: Sample, i: int, rng: random.Random
) -> list[tuple[str, Callable[[], bool | None]]]:
    """The i-th round of calls, one per query type; each says whether it found something,
    or None when it does not apply (no next page to ask for)."""
    tenant, agent, lo, hi = rng.choice(s.agents)
    at = datetime.fromtimestamp(rng.randrange(lo, hi + 1) / 1e6, UTC)
    task, rid = s.tasks[i % len(s.tasks)], s.requests[i % len(s.requests)]
    by_agent = EventFilter(
        tenant=tenant, agent=agent, since=at, until=at + TIMELINE_WINDOW, order="asc"
    )
    by_task = EventFilter(task_id=task, order="asc")
    cursors: dict[str, str | None] = {}

    def first(name: str, f: EventFilter) -> Callable[[], bool]:
        def call() -> bool:
            events, cursors[name] = _timeline(store, f)
            return bool(events)

        return call

    def then(name: str, f: EventFilter) -> Callable[[], bool | None]:
        def call() -> bool | None:
            cursor = cursors.get(name)
            return bool(_timeline(store, _with_cursor(f, cursor))[0]) if cursor else None

        return call

    return [
        ("state_at (tenant)", lambda: bool(reader.state_at(agent, at, tenant=tenant)["before"])),
        ("state_at (admin)", lambda: bool(reader.state_at(agent, at, tenant=None)["before"])),
        ("agent timeline", first("agent", by_agent)),
        ("agent timeline next", then("agent", by_agent)),
        ("task timeline", first("task", by_task)),
        ("task timeline next", then("task", by_task)),
        ("flow", lambda: flow(store, rid, None) is not None),
        ("SELECT 1 (floor)", lambda: bool(store.query("SELECT 1 AS ok"))),
    ]


def _with_cursor(f: EventFilter, cursor: str) -> EventFilter:
    return EventFilter(**{**asdict(f), "cursor": cursor})


def run_queries(store: AuditStore, cfg: Config, res: Result) -> None:
    s = sample(store, max(cfg.queries, 1), cfg.seed)
    timed = TimedStore(store)
    reader = StateReader(timed)  # type: ignore[arg-type]  # duck-typed AuditStore
    rng = random.Random(cfg.seed)
    res.ms = {name: [] for name in QUERIES}
    res.answered = dict.fromkeys(QUERIES, 0)
    for i in range(cfg.warmup + cfg.queries):
        warm = i >= cfg.warmup
        for name, call in _calls(store, reader, s, i, rng):
            started = time.perf_counter()
            found = call()
            elapsed = (time.perf_counter() - started) * 1000
            if found is None:
                continue
            res.first_ms.setdefault(name, elapsed)
            if warm:
                res.ms[name].append(elapsed)
                res.answered[name] += found
        if i == cfg.warmup - 1:
            timed.ms.clear()
    res.sub_ms = dict(timed.ms)
    last = {**timed.last, **_representatives(s, cfg)}
    for label, (sql, params) in last.items():
        rows = store.query(f"EXPLAIN ESTIMATE {sql}", params)
        res.estimate[label] = ", ".join(f"{r['rows']} rows / {r['marks']} marks" for r in rows)
        if cfg.explain:
            plan = store.query(f"EXPLAIN indexes = 1 {sql}", params)
            res.explain[label] = "\n".join(r["explain"] for r in plan)
    if cfg.diagnose:
        res.diagnosis = diagnose(store, timed.last)


def _p50(store: AuditStore, sql: str, params: dict[str, Any], n: int = 30) -> float:
    ms = []
    for _ in range(n):
        started = time.perf_counter()
        store.query(sql, params)
        ms.append((time.perf_counter() - started) * 1000)
    return _percentile(ms, 50)


def diagnose(
    store: AuditStore, last: dict[str, tuple[str, dict[str, Any]]]
) -> dict[str, list[float]]:
    """Each state_at query's last SQL as is and with only the fold's columns (p50 ms), and
    the three per-agent folds (tasks, grants, alerts) as one narrow query."""
    out = {}
    for label, (sql, params) in sorted(last.items()):
        if sql.startswith(SELECT):
            out[label] = [
                _p50(store, sql, params),
                _p50(store, NARROW + sql[len(SELECT) :], params),
            ]
    sql, params = last.get("_tasks", ("", {}))
    if sql:
        scope = "AND tenant = {tenant:String} " if "tenant" in params else ""
        merged = (
            f"{NARROW} WHERE agent = {{agent:String}} {scope}AND kind IN {{kinds:Array(String)}} "
            "AND ts <= {at:DateTime64(6, 'UTC')} ORDER BY ts, event_id"
        )
        out["one fold query"] = [math.nan, _p50(store, merged, {**params, "kinds": FOLD_KINDS})]
    return out


def _representatives(s: Sample, cfg: Config) -> dict[str, tuple[str, dict[str, Any]]]:
    tenant, agent, lo, hi = s.agents[0]
    at = datetime.fromtimestamp((lo + hi) / 2e6, UTC)
    agent_f = EventFilter(tenant=tenant, agent=agent, since=at, until=at + TIMELINE_WINDOW)
    flow_sql = (
        f"SELECT * FROM {T} WHERE request_id = {{rid:String}} ORDER BY ts, event_id",
        {"rid": s.requests[0]},
    )
    return {
        "agent timeline": build_query(agent_f),
        "task timeline": build_query(EventFilter(task_id=s.tasks[0], order="asc")),
        "flow": flow_sql,
    }


# Run -----------------------------------------------------------------------------


def bench(cfg: Config) -> Result:
    res = Result()
    path = prepare(cfg, res)
    res.store_dir = str(path)
    store = open_store(None, path)
    try:
        parts = store.query(
            "SELECT count() AS parts, sum(rows) AS rows, sum(bytes_on_disk) AS bytes "
            f"FROM system.parts WHERE table = '{T}' AND active"
        )[0]
        res.parts, res.rows, res.bytes_on_disk = (int(parts[k]) for k in ("parts", "rows", "bytes"))
        run_queries(store, cfg, res)
        if cfg.verify:
            res.verified = verify(store, res.seed)
    finally:
        store.close()
    return res


def verify(store: AuditStore, report: dict[str, Any]) -> dict[str, Any]:
    """``airlock audit verify`` over the whole history (every hash recomputed)."""
    public = load_public_pem(report["public_key_pem"])
    start = datetime.fromisoformat(report["start"])
    end = datetime.fromisoformat(report["end"]) + timedelta(seconds=2)
    result = verify_window(store, start, end, {key_id(public): public}, now=end)
    first = result.first_problem()
    return {
        "ok": result.ok,
        "events": result.events,
        "streams": len(result.streams),
        "final": all(s.final for s in result.streams),
        "first_problem": first.message if first else "",
    }


def format_report(cfg: Config, r: Result) -> str:
    seed = r.seed
    how = "seeded now" if r.seeded_now else "given" if cfg.store else "cached"
    lines = [
        f"# store {r.store_dir} ({how}; the seed took {seed['seconds']:.1f} s, "
        f"{seed['rows'] / seed['seconds']:,.0f} events/s with {seed['workers']} process(es))",
        f"# {seed['events']:,} events of {seed['agents']} agents / {seed['tenants']} tenants "
        f"over {seed['days']} days; {r.rows:,} rows with checkpoints, {r.parts} part(s), "
        f"{r.bytes_on_disk / 1e6:.1f} MB; variant {cfg.variant}",
        f"# {cfg.queries} calls per query type after {cfg.warmup} warm-up rounds",
        f"{'query':24} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'first ms':>9}  found",
    ]
    for name in QUERIES:
        ms = r.ms.get(name, [])
        lines.append(
            f"{name:24} {_percentile(ms, 50):8.1f} {_percentile(ms, 99):8.1f} "
            f"{max(ms, default=math.nan):8.1f} {r.first_ms.get(name, math.nan):9.1f}  "
            f"{r.answered.get(name, 0)}/{len(ms)}"
        )
    lines.append("state_at's queries (both scopes), and what ClickHouse estimates each reads:")
    for label, ms in sorted(r.sub_ms.items()):
        lines.append(
            f"  {label:22} {_percentile(ms, 50):8.1f} {_percentile(ms, 99):8.1f} "
            f"{max(ms):8.1f}  {r.estimate.get(label, '')}"
        )
    for label in ("agent timeline", "task timeline", "flow"):
        lines.append(f"  {label + ' reads':22} {r.estimate.get(label, '')}")
    if r.diagnosis:
        lines.append("diagnosis, p50 ms of each query's last SQL: as is / only the fold's columns")
        lines += [f"  {k:22} {v[0]:8.1f} {v[1]:8.1f}" for k, v in r.diagnosis.items()]
    for label, text in r.explain.items():
        lines += [f"-- EXPLAIN indexes = 1: {label}", text]
    if r.verified:
        lines.append(f"audit verify: {r.verified}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    d = Config()
    p = argparse.ArgumentParser(description="state_at / timeline / flow latency at scale")
    p.add_argument("--events", type=int, default=d.events)
    p.add_argument("--agents", type=int, default=d.agents)
    p.add_argument("--tenants", type=int, default=d.tenants)
    p.add_argument("--days", type=int, default=d.days)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--queries", type=int, default=d.queries, help="calls per query type")
    p.add_argument("--warmup", type=int, default=d.warmup, help="untimed rounds first")
    p.add_argument("--workers", type=int, default=d.workers, help="seeding processes")
    p.add_argument("--variant", choices=sorted(VARIANTS), default=d.variant)
    p.add_argument("--cache-dir", type=Path, default=d.cache_dir)
    p.add_argument("--store", type=Path, help="a directory made by seed_history --out")
    p.add_argument("--fresh", action="store_true", help="seed again even if cached")
    p.add_argument("--explain", action="store_true", help="print EXPLAIN indexes = 1")
    p.add_argument("--diagnose", action="store_true", help="time state_at's SQL narrowed")
    p.add_argument("--verify", action="store_true", help="verify every hash chain too")
    p.add_argument("--json", action="store_true", help="also print a JSON document")
    a = p.parse_args(argv)
    cfg = Config(
        events=a.events,
        agents=a.agents,
        tenants=a.tenants,
        days=a.days,
        seed=a.seed,
        queries=a.queries,
        warmup=a.warmup,
        workers=a.workers,
        variant=a.variant,
        cache_dir=a.cache_dir,
        store=a.store,
        fresh=a.fresh,
        explain=a.explain,
        diagnose=a.diagnose,
        verify=a.verify,
    )
    load_before = os.getloadavg()[0]
    result = bench(cfg)
    print(
        f"# {os.cpu_count()} CPUs, load avg (1 min) {load_before:.2f} before / "
        f"{os.getloadavg()[0]:.2f} after"
    )
    print(format_report(cfg, result))
    if a.json:
        print(json.dumps({"config": asdict(cfg), "result": asdict(result)}, indent=2, default=str))
    return 0 if not result.verified or result.verified["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
