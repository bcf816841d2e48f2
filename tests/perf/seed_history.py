"""A generated audit history for the reconstruction benchmark: many agents, a week of work.

Run from the repository root::

    .venv/bin/python -m tests.perf.seed_history --events 1000000 --agents 50 --out DIR

``DIR`` becomes a chDB data directory (``open_store(None, DIR)``) holding ``--events``
events of ``--agents`` agents over ``--tenants`` tenants and ``--days`` days, plus the
hash chains' signed checkpoints; ``DIR/airlock-seed.json`` describes it (with the
checkpoint key's public half, for ``verify_window``). The same seed gives the same
history, except the checkpoint signatures (a fresh key per seed).

Per agent, one or two lanes of back-to-back tasks: ``task-created`` (profile,
``expires_at``), ``grant-created`` per credential, bursts of ``http-request`` (hosts
from a list of real registries and APIs, about 4 % denied, durations, bytes) with
``credential-injected`` where a granted credential matches the host and an occasional
``secret-finding``; a pause over 15 minutes raises ``alert-raised`` and the next
request resolves it; one task in ten ends ``task-killed``, the others ``task-expired``.
Control plane: ``credential-added`` then ``credential-rotated`` every 1-3 days,
``policy-loaded`` every 2-5 hours on each of two gateways.

Each gateway's events are sealed into its own hash chains, as its writers would:
``<gw>/proxy`` (requests, findings, injections), ``<gw>/supervisor`` (policy),
``<gw>/store`` (alerts, expiries) and ``<gw>/cli`` (control-plane commands; a real
CLI writes one short stream per command), with a signed ``audit-checkpoint`` every
10 minutes of event time and a final one, so ``airlock audit verify`` accepts the
store. One process per gateway generates and seals; this one inserts.

Sealing through ``AuditEvent`` and ``chain.seal`` costs about 1 ms per event here,
so rows are built and hashed directly: RFC 8785 through ``json`` with keys in
sorted order, which is exact for what is generated here (ASCII strings, floats
never integral nor in exponent form). Every ``check_every``-th row is rebuilt as
an ``AuditEvent``, sealed by ``chain.seal`` and compared with ``clickhouse_row``;
any difference stops the seed.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import heapq
import itertools
import json
import math
import multiprocessing
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from queue import Empty
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``gateway`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.audit.chain import BODY_FIELDS, GENESIS, HEADER_FIELDS, Head, seal
from gateway.audit.events import EVENT_KINDS, AuditEvent, clickhouse_row
from gateway.audit.schema import EVENTS_TABLE
from gateway.audit.signing import Signer, checkpoint_message
from gateway.audit.store import AuditStore, open_store

__all__ = ["MARKER", "SeedReport", "main", "seed", "seed_dir"]

START = datetime(2026, 11, 2, tzinfo=UTC)
S = 1_000_000  # timestamps are integer microseconds since the epoch
MIN, HOUR, DAY = 60 * S, 3600 * S, 86400 * S
TASK_SLOT = 4 * HOUR  # a lane runs about one task per slot
STALL = 15 * MIN  # the store's stall alert threshold
CHECKPOINT_EVERY = 10 * MIN
MARKER = "airlock-seed.json"
TENANTS = ("acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka")
ROLES = ("coder", "reviewer", "researcher", "release-bot", "triage")
GATEWAYS = ("gw-a", "gw-b")
# host, weight, credential injected there, paths ({n}: a number, {h}: hex)
HOSTS = (
    ("api.github.com", 20, "github", ("/repos/acme/api/pulls", "/repos/acme/api/issues/{n}")),
    ("github.com", 8, "github", ("/acme/api.git/info/refs", "/acme/api.git/git-upload-pack")),
    ("objects.githubusercontent.com", 3, "", ("/github-production-release-asset/{n}",)),
    ("pypi.org", 10, "", ("/simple/requests/", "/simple/numpy/", "/pypi/httpx/json")),
    ("files.pythonhosted.org", 9, "", ("/packages/{h}/numpy-2.1.3-cp312-manylinux.whl",)),
    ("registry.npmjs.org", 10, "npm", ("/react", "/@types%2fnode", "/typescript/-/ts-5.6.3.tgz")),
    ("api.anthropic.com", 8, "anthropic", ("/v1/messages",)),
    ("api.openai.com", 5, "openai", ("/v1/chat/completions", "/v1/embeddings")),
    ("s3.us-east-1.amazonaws.com", 4, "aws-deploy", ("/acme-artifacts/builds/{n}.tar.gz",)),
    ("sts.amazonaws.com", 1, "aws-deploy", ("/",)),
    ("huggingface.co", 2, "hf", ("/api/models/bert-base-uncased", "/{h}/resolve/main/model.bin")),
    ("hooks.slack.com", 1, "slack", ("/services/T024BE7LD/B08{n}/{h}",)),
    ("api.stripe.com", 1, "stripe", ("/v1/charges", "/v1/customers/cus_{h}")),
    ("proxy.golang.org", 3, "", ("/github.com/stretchr/testify/@v/list",)),
    ("crates.io", 2, "", ("/api/v1/crates/serde", "/api/v1/crates/tokio/1.41.1/download")),
    ("docs.python.org", 3, "", ("/3/library/asyncio.html",)),
    ("stackoverflow.com", 2, "", ("/questions/{n}",)),
)
HOST_WEIGHTS = list(itertools.accumulate(h[1] for h in HOSTS))
BIG = ("files.pythonhosted.org", "s3.us-east-1.amazonaws.com")  # downloads: minutes, MBs
DENIED = ("pastebin.com", "transfer.sh", "webhook.site", "api.telegram.org", "169.254.169.254")
CREDENTIALS = {  # name -> kind, hosts
    "github": ("bearer", "api.github.com,github.com"),
    "npm": ("bearer", "registry.npmjs.org"),
    "anthropic": ("header", "api.anthropic.com"),
    "openai": ("bearer", "api.openai.com"),
    "aws-deploy": ("aws", "s3.us-east-1.amazonaws.com,sts.amazonaws.com"),
    "hf": ("bearer", "huggingface.co"),
    "slack": ("bearer", "hooks.slack.com"),
    "stripe": ("bearer", "api.stripe.com"),
}
PROFILES = {
    "ci": ("github", "npm", "aws-deploy"),
    "dev": ("github", "npm", "anthropic", "openai"),
    "release": ("github", "aws-deploy", "slack", "stripe"),
    "research": ("anthropic", "openai", "hf"),
}
STATUSES = (200, 201, 204, 304, 404, 429, 500)
STATUS_WEIGHTS = list(itertools.accumulate((80, 4, 2, 6, 5, 2, 1)))
DETECTORS = ("github-token", "aws-access-key", "private-key", "slack-token", "generic-api-key")

# (µs, tie-break, chain, fields): plain tuple order merges lanes without a key function
Proto = tuple[int, int, str, dict[str, Any]]


def _iso(us: int) -> str:
    return datetime.fromtimestamp(us // S, UTC).isoformat()


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(4 * digits):0{digits}x}"


def _uuid7(us: int, rng: random.Random) -> str:
    r = rng.getrandbits(74)
    value = (us // 1000) << 80 | 0x7 << 76 | (r >> 62) << 64 | 0b10 << 62 | (r & ((1 << 62) - 1))
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass
class Plan:
    """The control plane's history first: lanes look up credential versions and policy."""

    start: int
    end: int
    rng: random.Random
    ticket: Iterator[int] = field(default_factory=itertools.count)
    control: dict[str, list[Proto]] = field(default_factory=dict)
    versions: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    revisions: dict[str, list[tuple[int, str]]] = field(default_factory=dict)

    @classmethod
    def build(cls, days: int, seed: int) -> Plan:
        start = int(START.timestamp()) * S
        plan = cls(start, start + days * DAY, random.Random(seed))
        for gw in GATEWAYS:
            plan.control[gw] = [plan.proto(start, f"{gw}/supervisor", {"kind": "component-start"})]
            plan._policies(gw)
        for name, (kind, hosts) in CREDENTIALS.items():
            plan._credential(name, kind, hosts)
        for protos in plan.control.values():
            protos.sort()
        return plan

    def proto(self, us: int, chain: str, fields: dict[str, Any]) -> Proto:
        return (us, next(self.ticket), chain, fields)

    def _policies(self, gw: str) -> None:
        t, chain = self.start + S, f"{gw}/supervisor"
        while t < self.end:
            revision = _hex(self.rng, 12)
            self.revisions.setdefault(gw, []).append((t, revision))
            detail = {"digest": _hex(self.rng, 64), "revision": revision}
            self.control[gw].append(
                self.proto(t, chain, {"kind": "policy-loaded", "detail": detail})
            )
            t += self.rng.randrange(2 * HOUR, 5 * HOUR)

    def _credential(self, name: str, kind: str, hosts: str) -> None:
        t, version, event = self.start + self.rng.randrange(MIN, 30 * MIN), 1, "credential-added"
        while t < self.end:  # recorded by the first gateway's CLI
            self.versions.setdefault(name, []).append((t, version))
            detail = {"credential": name, "fingerprint": _hex(self.rng, 16), "hosts": hosts}
            detail |= {"kind": kind, "version": str(version)}
            fields = {"kind": event, "gateway_id": GATEWAYS[0], "detail": detail}
            self.control[GATEWAYS[0]].append(self.proto(t, f"{GATEWAYS[0]}/cli", fields))
            t += self.rng.randrange(DAY, 3 * DAY)
            version, event = version + 1, "credential-rotated"

    def version_at(self, name: str, us: int) -> int:
        timeline = self.versions[name]
        return timeline[max(0, bisect.bisect_right(timeline, (us, math.inf)) - 1)][1]

    def revision_at(self, gw: str, us: int) -> str:
        timeline = self.revisions[gw]
        return timeline[max(0, bisect.bisect_right(timeline, (us, "~")) - 1)][1]


@dataclass
class Task:
    plan: Plan
    gw: str
    ids: dict[str, str]  # tenant, agent, task_id
    client_addr: str
    grants: tuple[str, ...] = ()
    events: list[Proto] = field(default_factory=list)

    def add(self, us: int, chain: str, kind: str, **fields: Any) -> None:
        fields = {"kind": kind, "gateway_id": self.gw, **self.ids, **fields}
        self.events.append(self.plan.proto(us, f"{self.gw}/{chain}", fields))


def _agent(plan: Plan, i: int, tenants: int, budget: int, seed: int) -> Iterator[Proto]:
    tenant = TENANTS[i % tenants] if tenants <= len(TENANTS) else f"tenant-{i % tenants:02d}"
    n = 2 if i % 3 == 0 else 1  # some agents run two tasks at a time
    lanes = (
        _lane(plan, i, tenant, budget // n, random.Random(f"{seed}/{i}/{k}")) for k in range(n)
    )
    return heapq.merge(*lanes)


def _lane(plan: Plan, agent: int, tenant: str, budget: int, rng: random.Random) -> Iterator[Proto]:
    """Back-to-back tasks, each inside its own slot, so the lane is in time order."""
    first = plan.start + HOUR
    n = max(1, (plan.end - first) // TASK_SLOT)
    slot = (plan.end - first) // n
    weights = [rng.uniform(0.3, 1.7) for _ in range(n)]
    name = f"{ROLES[agent % len(ROLES)]}-{agent:02d}"
    for k, w in enumerate(weights):
        ids = {"tenant": tenant, "agent": name, "task_id": f"tsk_{_hex(rng, 16)}"}
        addr = f"10.{80 + agent // 250}.{agent % 250}.{rng.randrange(2, 250)}"
        task = Task(plan, GATEWAYS[agent % len(GATEWAYS)], ids, addr)
        _task(task, first + k * slot, slot, round(budget * w / sum(weights)), rng)
        task.events.sort()
        yield from task.events


def _task(task: Task, start: int, slot: int, budget: int, rng: random.Random) -> None:
    created = start + rng.randrange(0, slot // 10)
    ttl = max(15 * MIN, (start + slot - created - 10 * MIN) // (15 * MIN) * 15 * MIN)
    expires = created + ttl
    profile = rng.choice(sorted(PROFILES))
    task.grants = tuple(rng.sample(PROFILES[profile], rng.randint(1, len(PROFILES[profile]))))
    detail = {"expires_at": _iso(expires), "grants": ",".join(task.grants), "profile": profile}
    task.add(created, "cli", "task-created", detail=detail)
    for name in task.grants:
        task.add(
            created,
            "cli",
            "grant-created",
            detail={"credential": name, "expires_at": _iso(expires)},
        )
    last = _requests(task, created, created + int(ttl * rng.uniform(0.4, 0.9)), budget, rng)
    if rng.random() < 0.1:
        task.add(last + rng.randrange(10 * S, 10 * MIN), "cli", "task-killed", detail={"by": "cli"})
    else:
        detail = {"expires_at": _iso(expires)}
        task.add(expires + rng.randrange(0, 60 * S), "store", "task-expired", detail=detail)


def _requests(task: Task, t: int, until: int, budget: int, rng: random.Random) -> int:
    """Requests until the budget or the time runs out; returns the last one's time."""
    last = t
    while len(task.events) < budget:
        gap = max(1000, (until - t) // (budget - len(task.events)))  # paced to fill the time
        t += int(rng.expovariate(1 / gap)) + 1000
        if rng.random() < 0.001:  # the agent goes quiet: the store raises a stall alert
            alert = {"alert": "task-stalled", "alert_id": f"alert-{_hex(rng, 12)}"}
            raised = last + STALL + rng.randrange(0, 30 * S)
            t = raised + rng.randrange(5 * MIN, 40 * MIN)
            if t >= until:
                break
            task.add(raised, "store", "alert-raised", detail={**alert, "stall_seconds": "900"})
            resumed = {**alert, "resumed_at": _iso(t)}
            task.add(t + rng.randrange(S, 30 * S), "store", "alert-resolved", detail=resumed)
        if t >= until:
            break
        _request(task, t, rng)
        last = t
    return last


def _request(task: Task, t: int, rng: random.Random) -> None:
    fields: dict[str, Any] = {
        "request_id": _uuid7(t, rng),
        "scheme": "https",
        "port": 443,
        "client_addr": task.client_addr,
        "policy_revision": task.plan.revision_at(task.gw, t),
    }
    if rng.random() < 0.04:
        host = rng.choice(DENIED)
        reason = "private_destination" if host[0].isdigit() else "destination_not_allowed"
        fields |= {"method": "GET", "host": host, "path": "/", "status": 403, "decision": "deny"}
        fields |= {"rules": [f"airlock.network.{reason}"], "reasons": [reason]}
        task.add(t, "proxy", "http-request", duration_ms=round(rng.uniform(0.5, 4.0), 3), **fields)
        return
    host, _, cred, paths = rng.choices(HOSTS, cum_weights=HOST_WEIGHTS)[0]
    big = host in BIG
    path = rng.choice(paths).replace("{n}", str(rng.randrange(1, 99999)))
    fields |= {
        "method": "POST" if "messages" in path or rng.random() < 0.1 else "GET",
        "host": host,
        "path": path.replace("{h}", _hex(rng, 8)),
        "status": rng.choices(STATUSES, cum_weights=STATUS_WEIGHTS)[0],
        "decision": "allow",
        "rules": [f"profile/allow/{host}"],
        "reasons": ["allowed"],
        "bytes_in": int(rng.lognormvariate(6, 1.5)),
        "bytes_out": int(rng.lognormvariate(13 if big else 8, 2)),
        "duration_ms": round(min(rng.lognormvariate(11 if big else 4.8, 1.0), 2e7), 3),
    }
    injected = cred if cred in task.grants else ""
    version = task.plan.version_at(injected, t) if injected else 0
    detail = {"credentials": f"{injected}:v{version}"} if injected else {}
    finding = rng.random() < 0.003
    if finding:
        detail["secret_findings"] = "1"
    task.add(t, "proxy", "http-request", detail=detail, **fields)
    if injected:
        detail = {"credential": injected, "version": str(version)}
        task.add(t, "proxy", "credential-injected", detail=detail, **fields)
    if finding:
        task.add(t, "proxy", "secret-finding", detail=_finding(rng), **fields)


def _finding(rng: random.Random) -> dict[str, str]:
    return {
        "action": rng.choices(("redacted", "blocked", "alerted"), cum_weights=(90, 95, 100))[0],
        "detector": rng.choice(DETECTORS),
        "direction": rng.choice(("request", "response")),
        "fingerprint": _hex(rng, 16),
        "location": rng.choice(("body", "header:authorization", "query")),
        "offset": str(rng.randrange(0, 4096)),
    }


class Sealer:
    """Rows of ``airlock_events``, linked per chain, with signed checkpoints on time."""

    def __init__(self, signer: Signer, rng: random.Random, check_every: int) -> None:
        self.signer, self.rng, self.check_every = signer, rng, check_every
        self.heads: dict[str, tuple[int, str]] = {}  # chain -> (seq, hash) of its head
        self.next_checkpoint: dict[str, int] = {}
        self.rows = self.checkpoints = self.checked = 0
        self.jcs = json.JSONEncoder(separators=(",", ":")).encode  # keys come sorted
        self.detail_text = json.JSONEncoder(sort_keys=True).encode  # as clickhouse_row
        self.defaults = AuditEvent(kind="http-request").model_dump(mode="json")
        version = self.defaults["schema_version"]
        self.body = sorted(BODY_FIELDS[version])
        self.header = sorted((*HEADER_FIELDS, "body_sha256"))
        self.day, self.day_text = -1, ""

    def add(self, proto: Proto) -> list[dict[str, Any]]:
        us, _, chain, fields = proto
        return [*self._due(chain, us), self._row(us, chain, fields)]

    def close(self, end: int) -> list[dict[str, Any]]:
        """Checkpoints up to ``end``, then a final one on every chain (a clean stop)."""
        out = []
        for chain in sorted(self.heads):
            out += [*self._due(chain, end), self._checkpoint(chain, end + S, final=True)]
        return out

    def _due(self, chain: str, until: int) -> list[dict[str, Any]]:
        due = self.next_checkpoint.setdefault(chain, until + CHECKPOINT_EVERY)
        out = []
        while due <= until:
            out.append(self._checkpoint(chain, due, final=False))
            due += CHECKPOINT_EVERY
        self.next_checkpoint[chain] = due
        return out

    def _checkpoint(self, chain: str, us: int, *, final: bool) -> dict[str, Any]:
        seq, head = self.heads.get(chain, (0, GENESIS))
        message = checkpoint_message(chain, seq, head, self._ts(us)[1], final)
        detail = {"final": "true" if final else "false", "head_hash": head}
        detail |= {"head_seq": str(seq), "interval_s": f"{CHECKPOINT_EVERY / S:g}"}
        detail |= {"key_id": self.signer.key_id, "signature": self.signer.sign(message)}
        self.checkpoints += 1
        gw = chain.split("/", 1)[0]
        return self._row(
            us, chain, {"kind": "audit-checkpoint", "gateway_id": gw, "detail": detail}
        )

    def _ts(self, us: int) -> tuple[str, str]:
        """The row's ``ts`` and the hashed one (``chain.canonical_ts``)."""
        day, rest = divmod(us, DAY)
        if day != self.day:
            self.day, self.day_text = day, datetime.fromtimestamp(day * 86400, UTC).strftime("%F")
        minutes, micros = divmod(rest, MIN)
        clock = f"{minutes // 60:02d}:{minutes % 60:02d}:{micros // S:02d}.{micros % S:06d}"
        return f"{self.day_text} {clock}", f"{self.day_text}T{clock}Z"

    def _row(self, us: int, chain: str, fields: dict[str, Any]) -> dict[str, Any]:
        seq, head = self.heads.get(chain, (0, GENESIS))
        row = self.defaults.copy()
        row.update(fields)
        detail = row["detail"]
        row["event_id"] = _uuid7(us, self.rng)
        row["ts"], ts = self._ts(us)
        row["code"], row["severity"], _ = EVENT_KINDS[row["kind"]]
        row["detail"] = self.detail_text(detail)
        row["stream"], row["seq"], row["prev_hash"] = chain, seq + 1, head
        row["hash"] = self._hash(row, ts, dict(sorted(detail.items())))
        row["spool_stream"] = chain.split("/", 1)[1]
        self.heads[chain] = (seq + 1, row["hash"])
        self.rows += 1
        if (self.rows - 1) % self.check_every == 0:
            _check(row)
            self.checked += 1
        return row

    def _hash(self, row: dict[str, Any], ts: str, detail: dict[str, str]) -> str:
        """``chain.compute_hash`` of the row (see the module docstring for why not itself)."""
        body = {name: row[name] for name in self.body}
        duration = body["duration_ms"]
        body["detail"] = detail
        body["duration_ms"] = int(duration) if duration % 1 == 0 else duration
        digest = hashlib.sha256(self.jcs(body).encode()).hexdigest()
        header = {name: row.get(name) for name in self.header}
        header["body_sha256"], header["ts"] = digest, ts  # in place: keys stay sorted
        return hashlib.sha256(self.jcs(header).encode()).hexdigest()


def _check(row: dict[str, Any]) -> None:
    """The row, rebuilt as an ``AuditEvent`` and sealed by ``chain.seal``, must be the same."""
    names = set(AuditEvent.model_fields) - {"stream", "seq", "prev_hash", "hash"}
    fields = {name: row[name] for name in names}
    fields["ts"] = datetime.fromisoformat(row["ts"]).replace(tzinfo=UTC)
    fields["detail"] = json.loads(row["detail"])
    head = Head(row["seq"] - 1, row["prev_hash"])
    real = clickhouse_row(seal(AuditEvent(**fields), row["stream"], head), row["spool_stream"])
    if real != row:
        diff = sorted(k for k in real.keys() | row.keys() if real.get(k) != row.get(k))
        raise RuntimeError(f"seeded row {row['event_id']} differs from AuditEvent + seal: {diff}")


class Inserter:
    """JSONEachRow batches through ``AuditStore.insert_rows``, as the shipper sends them."""

    def __init__(self, store: AuditStore, token: str) -> None:
        self.store, self.token = store, token
        self.batches, self.rows, self.seconds = 0, 0, 0.0

    def insert(self, data: bytes, rows: int) -> None:
        started = time.perf_counter()
        self.store.insert_rows(data, f"{self.token}-{self.batches}")
        self.seconds += time.perf_counter() - started
        self.batches, self.rows = self.batches + 1, self.rows + rows


@dataclass(frozen=True)
class Part:
    """One gateway's share: its agents, its control events, its chains."""

    gateway: int
    events: int
    agents: int
    tenants: int
    days: int
    seed: int
    key: bytes  # the checkpoint signing key (raw Ed25519)
    batch: int
    check_every: int


@dataclass
class PartStats:
    events: int = 0
    rows: int = 0
    checkpoints: int = 0
    checked: int = 0
    chains: int = 0
    last: int = 0


def _produce(part: Part, emit: Callable[[bytes, int], None]) -> PartStats:
    """Generate, seal and serialise one gateway's history, ``part.batch`` rows at a time."""
    plan = Plan.build(part.days, part.seed)
    signer = Signer(Ed25519PrivateKey.from_private_bytes(part.key))
    sealer = Sealer(signer, random.Random(f"{part.seed}/{part.gateway}/ids"), part.check_every)
    mine = range(part.gateway, part.agents, len(GATEWAYS))
    budget = math.ceil(part.events * 1.05 / max(1, len(mine)))
    streams = [iter(plan.control[GATEWAYS[part.gateway]])]
    streams += [_agent(plan, i, part.tenants, budget, part.seed) for i in mine]
    encode, lines, stats = json.JSONEncoder().encode, [], PartStats(last=plan.start)
    for proto in itertools.islice(heapq.merge(*streams), part.events):
        lines += [encode(row) for row in sealer.add(proto)]
        stats.events, stats.last = stats.events + 1, proto[0]
        if len(lines) >= part.batch:
            emit(("\n".join(lines) + "\n").encode(), len(lines))
            lines = []
    lines += [encode(row) for row in sealer.close(stats.last)]
    emit(("\n".join(lines) + "\n").encode(), len(lines))
    stats.rows, stats.checkpoints, stats.checked = sealer.rows, sealer.checkpoints, sealer.checked
    stats.chains = len(sealer.heads)
    return stats


def _worker(part: Part, queue: Any) -> None:
    try:
        stats = _produce(part, lambda data, rows: queue.put(("rows", data, rows)))
        queue.put(("done", stats, 0))
    except BaseException as exc:  # the parent raises it
        queue.put(("error", f"{type(exc).__name__}: {exc}", 0))


def _run_parts(parts: list[Part], inserter: Inserter, workers: int) -> list[PartStats]:
    if workers <= 1:
        return [_produce(part, inserter.insert) for part in parts]
    ctx = multiprocessing.get_context("spawn")  # never fork a process that holds chDB
    queue = ctx.Queue(maxsize=2 * len(parts))
    procs = [ctx.Process(target=_worker, args=(part, queue), daemon=True) for part in parts]
    for proc in procs:
        proc.start()
    stats: list[PartStats] = []
    try:
        while len(stats) < len(parts):
            try:
                what, payload, rows = queue.get(timeout=1)
            except Empty:
                if any(proc.is_alive() for proc in procs):
                    continue
                codes = [proc.exitcode for proc in procs]
                raise RuntimeError(
                    f"a seed worker died without a word (exit codes {codes})"
                ) from None
            if what == "rows":
                inserter.insert(payload, rows)
            elif what == "done":
                stats.append(payload)
            else:
                raise RuntimeError(f"seed worker failed: {payload}")
    finally:
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
    return stats


@dataclass
class SeedReport:
    events: int  # generated events, checkpoints not counted
    rows: int  # events + checkpoints
    agents: int
    tenants: int
    days: int
    seed: int
    chains: int
    start: str
    end: str
    checked: int  # rows compared with AuditEvent + seal
    workers: int
    seconds: float
    insert_seconds: float
    optimize_seconds: float
    public_key_pem: str

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else math.nan

    def describe(self) -> str:
        return (
            f"seeded {self.events:,} events (+{self.rows - self.events:,} checkpoints, "
            f"{self.chains} chains) of {self.agents} agents / {self.tenants} tenants, "
            f"{self.start} .. {self.end}\n"
            f"seed: {self.seconds:.1f} s, {self.rows_per_second:,.0f} events/s "
            f"({self.workers} generating process(es); chDB insert {self.insert_seconds:.1f} s, "
            f"OPTIMIZE FINAL {self.optimize_seconds:.1f} s); {self.checked} rows "
            "cross-checked against AuditEvent + chain.seal"
        )


def seed(
    store: AuditStore,
    events: int = 1_000_000,
    agents: int = 50,
    tenants: int = 5,
    days: int = 7,
    seed: int = 1,
    *,
    signer_key: Ed25519PrivateKey | None = None,
    workers: int = 2,
    batch: int = 20_000,
    check_every: int = 1000,
    optimize: bool = True,
) -> SeedReport:
    """Insert the generated history into ``store`` (its schema already migrated)."""
    started = time.perf_counter()
    key = signer_key or Ed25519PrivateKey.generate()
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    shares = [len(range(g, agents, len(GATEWAYS))) for g in range(len(GATEWAYS))]
    quotas = [events * share // agents for share in shares]
    quotas[0] += events - sum(quotas)
    parts = [
        Part(g, quota, agents, tenants, days, seed, raw, batch, check_every)
        for g, quota in enumerate(quotas)
        if quota
    ]
    inserter = Inserter(store, f"seed-{seed}-{time.time_ns()}")
    stats = _run_parts(parts, inserter, workers)
    optimized = time.perf_counter()
    if optimize:
        store.execute(f"OPTIMIZE TABLE {EVENTS_TABLE} FINAL")
    done = time.perf_counter()
    return SeedReport(
        events=sum(s.events for s in stats),
        rows=sum(s.rows for s in stats),
        agents=agents,
        tenants=tenants,
        days=days,
        seed=seed,
        chains=sum(s.chains for s in stats),
        start=_iso(int(START.timestamp()) * S),
        end=_iso(max(s.last for s in stats)),
        checked=sum(s.checked for s in stats),
        workers=min(workers, len(parts)),
        seconds=done - started,
        insert_seconds=inserter.seconds,
        optimize_seconds=done - optimized,
        public_key_pem=Signer(key).public_pem(),
    )


def seed_dir(out: Path, **params: Any) -> SeedReport:
    """A new chDB data directory ``out`` holding the history, described by ``MARKER``."""
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out} is not empty: seed into a new directory")
    store = open_store(None, out)
    try:
        report = seed(store, **params)
    finally:
        store.close()
    (out / MARKER).write_text(json.dumps(asdict(report), indent=2) + "\n")
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Seed a chDB audit store with a generated history.")
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--agents", type=int, default=50)
    p.add_argument("--tenants", type=int, default=5)
    p.add_argument("--days", type=int, default=7)
    p.add_argument("--seed", type=int, default=1, help="random seed (same seed, same history)")
    p.add_argument("--out", type=Path, required=True, help="new chDB data directory")
    p.add_argument("--workers", type=int, default=2, help="generating processes (1 or 2)")
    p.add_argument("--no-optimize", action="store_true", help="leave the parts unmerged")
    p.add_argument("--check-every", type=int, default=1000, help="rows per chain.seal check")
    a = p.parse_args(argv)
    report = seed_dir(
        a.out,
        events=a.events,
        agents=a.agents,
        tenants=a.tenants,
        days=a.days,
        seed=a.seed,
        workers=a.workers,
        optimize=not a.no_optimize,
        check_every=a.check_every,
    )
    print(report.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
