"""The numbers the main panels show for the fixture traffic (audit_fixture.py).

Each panel's own SQL, expanded as the plugin expands it, runs on the real chDB store;
the expected values are worked out by hand from the story in audit_fixture.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from statistics import mean
from typing import Any

import pytest

from gateway.audit.store import ChdbStore
from tests.dashboards.audit_fixture import GARBAGE, Shipped
from tests.dashboards.dashboards import load_all, panel_sql, query_variables, run
from tests.support.grafana import ALL, TimeRange, Value

BOARDS = load_all()


def show(
    store: ChdbStore, rng: TimeRange, uid: str, title: str, **selection: Value
) -> list[dict[str, Any]]:
    """What panel ``title`` of dashboard ``uid`` gets; unselected variables are All."""
    board = BOARDS[uid]
    variables = {v["name"]: selection.pop(v["name"], ALL) for v in query_variables(board)}
    assert not selection, f"{uid} has no variables {sorted(selection)}"
    if title.startswith("variable "):
        [var] = [v for v in query_variables(board) if v["name"] == title.split()[1]]
        return run(store, var["query"], rng, variables)
    return run(store, panel_sql(board, title), rng, variables)


def overview(store: ChdbStore, rng: TimeRange, title: str, **sel: Value) -> list[dict[str, Any]]:
    return show(store, rng, "airlock-overview", title, **sel)


def minute_of(shipped: Shipped, time: str) -> int:
    at = datetime.strptime(time, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return int((at - shipped.base).total_seconds() // 60)


def series(shipped: Shipped, rows: list[dict[str, Any]], label: str, value: str) -> dict:
    """A long-format time series as {(minute after base, label): value}."""
    return {(minute_of(shipped, r["time"]), r[label]): r[value] for r in rows}


GLANCE = (
    "requests",
    "denied",
    "secret_findings",
    "unscannable_bodies",
    "credential_injections",
    "credential_misuse",
)


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        ({}, (18, 6, 3, 1, 4, 1)),
        ({"tenant": ["acme"]}, (13, 5, 2, 1, 1, 1)),
        ({"tenant": ["acme"], "agent": ["claude-1"]}, (8, 2, 1, 0, 1, 0)),
        ({"agent": ["bot-9"]}, (3, 0, 1, 0, 3, 0)),
    ],
)
def test_at_a_glance(
    store: ChdbStore, shipped: Shipped, rng: TimeRange, selection: dict, expected: tuple
) -> None:
    [row] = overview(store, rng, "At a glance", **selection)
    assert tuple(row[k] for k in GLANCE) == expected


def test_requests_by_decision(store: ChdbStore, shipped: Shipped, rng: TimeRange) -> None:
    everything = overview(store, rng, "Requests by decision")
    assert series(shipped, everything, "decision", "requests") == {
        (0, "allow"): 9,
        (0, "none"): 1,  # the proxy-auth-failure: no task, no decision
        (1, "allow"): 1,
        (1, "deny"): 2,
        (2, "allow"): 1,
        (2, "deny"): 1,  # the misuse; its secret-finding and credential-misuse rows don't count
        (3, "deny"): 3,
    }
    acme = overview(store, rng, "Requests by decision", tenant=["acme"])
    assert series(shipped, acme, "decision", "requests") == {
        (0, "allow"): 6,
        (1, "allow"): 1,
        (1, "deny"): 2,
        (2, "allow"): 1,
        (2, "deny"): 1,
        (3, "deny"): 2,  # the tunnel refusal has no tenant
    }


def test_events_by_kind(store: ChdbStore, rng: TimeRange) -> None:
    kinds = {r["kind"]: r["events"] for r in overview(store, rng, "Events by kind")}
    assert kinds == {
        "http-request": 15,
        "credential-injected": 4,
        "secret-finding": 3,
        "component-restart": 3,
        "audit-checkpoint": 3,
        "http-stream-end": 1,
        "credential-misuse": 1,
        "body-unscannable": 1,
        "task-refused": 1,
        "tunnel-refused": 1,
        "proxy-auth-failure": 1,
        "policy-loaded": 1,
        "spool-corruption": 1,
    }


def test_denials_by_reason_and_rule(store: ChdbStore, rng: TimeRange) -> None:
    reasons = overview(store, rng, "Denials by reason")
    assert reasons[0] == {"reason": "destination_not_allowed", "denials": 2}
    assert {r["reason"]: r["denials"] for r in reasons} == {
        "destination_not_allowed": 2,
        "credential_not_allowed": 1,
        "task_killed": 1,
        "body_too_large": 1,
        "opaque_tunnel": 1,
    }
    rules = overview(store, rng, "Denials by rule", agent=["claude-2", "bot-9"])
    assert {r["rule"]: r["denials"] for r in rules} == {
        "airlock.credentials.not_allowed": 1,
        "airlock.identity.task_not_active": 1,
        "airlock.gateway.body_too_large": 1,
    }


def test_denials_over_time(store: ChdbStore, shipped: Shipped, rng: TimeRange) -> None:
    rows = overview(store, rng, "Denials over time by reason")
    assert series(shipped, rows, "reason", "denials") == {
        (1, "destination_not_allowed"): 2,
        (2, "credential_not_allowed"): 1,
        (3, "task_killed"): 1,
        (3, "body_too_large"): 1,
        (3, "opaque_tunnel"): 1,
    }


def test_secret_findings(store: ChdbStore, shipped: Shipped, rng: TimeRange) -> None:
    rows = overview(store, rng, "Secret findings by detector")
    assert series(shipped, rows, "detector", "findings") == {
        (0, "github_pat"): 1,
        (2, "github_pat"): 1,
        (2, "aws_access_key_id"): 1,
    }
    table = overview(store, rng, "Secret findings", tenant=["acme"])
    keys = ("detector", "direction", "action", "findings", "distinct_secrets", "agents")
    assert [tuple(r[k] for k in keys) for r in table] == [
        ("aws_access_key_id", "outbound", "refused", 1, 1, 1),
        ("github_pat", "outbound", "redacted", 1, 1, 1),
    ]


def test_credential_use(store: ChdbStore, shipped: Shipped, rng: TimeRange) -> None:
    keys = ("credential", "injections", "versions", "tasks", "misuse", "misuse_hosts")
    table = overview(store, rng, "Credential use by credential")
    assert [tuple(r[k] for k in keys) for r in table] == [
        ("github", 1, "2", 1, 1, "evil.example"),
        ("npm", 3, "1", 1, 0, ""),
    ]
    rows = overview(store, rng, "Credential injections and misuse")
    assert {k: (r["injected"], r["misuse"]) for k, r in _keyed(shipped, rows).items()} == {
        (0, "npm"): (3, 0),
        (2, "github"): (1, 1),
    }


def _keyed(shipped: Shipped, rows: list[dict[str, Any]]) -> dict:
    return {(minute_of(shipped, r["time"]), r["credential"]): r for r in rows}


def test_policy_annotation(store: ChdbStore, shipped: Shipped, rng: TimeRange) -> None:
    [anno] = BOARDS["airlock-overview"]["annotations"]["list"][1:]
    rows = run(store, anno["target"]["rawSql"], rng, {})
    assert [r["text"] for r in rows] == ["policy rev-1"]
    assert rows[0]["time"].startswith((shipped.base + timedelta(seconds=1)).strftime("%F %T"))


def test_variable_choices(store: ChdbStore, rng: TimeRange) -> None:
    assert [r["tenant"] for r in overview(store, rng, "variable tenant")] == ["acme", "globex"]
    agents = overview(store, rng, "variable agent")
    assert [r["agent"] for r in agents] == ["bot-9", "claude-1", "claude-2"]
    acme = overview(store, rng, "variable agent", tenant=["acme"])
    assert [r["agent"] for r in acme] == ["claude-1", "claude-2"]


TOP = ("agent", "host", "requests", "denied", "bytes_in", "bytes_out")


def test_top_destinations_per_agent(store: ChdbStore, rng: TimeRange) -> None:
    rows = show(store, rng, "airlock-agents", "Top destinations per agent")
    assert [tuple(r[k] for k in TOP) for r in rows] == [
        ("bot-9", "registry.npmjs.org", 3, 0, 2100, 0),
        ("claude-1", "pypi.org", 4, 0, 4000, 0),
        ("claude-1", "example.com", 2, 2, 400, 0),
        # streamed: 0 bytes in http-request, 5000 in http-stream-end; bytes_out once
        ("claude-1", "files.pythonhosted.org", 1, 0, 5000, 10),
        ("claude-1", "api.github.com", 1, 0, 50, 300),
        ("claude-2", "pypi.org", 4, 2, 1070, 0),
        ("claude-2", "evil.example", 1, 1, 180, 60),
    ]
    one = show(store, rng, "airlock-agents", "Top destinations per agent", agent=["claude-2"])
    assert {r["host"] for r in one} == {"pypi.org", "evil.example"}


def test_agents(store: ChdbStore, shipped: Shipped, rng: TimeRange) -> None:
    keys = ("tenant", "agent", "tasks", "requests", "denied", "hosts", "secret_findings")
    rows = show(store, rng, "airlock-agents", "Agents")
    assert [tuple(r[k] for k in (*keys, "credential_misuse")) for r in rows] == [
        ("acme", "claude-1", 1, 8, 2, 4, 1, 0),
        ("acme", "claude-2", 1, 5, 3, 2, 1, 1),
        ("globex", "bot-9", 1, 3, 0, 1, 1, 0),
    ]
    per_agent = show(store, rng, "airlock-agents", "Requests per agent")
    assert series(shipped, per_agent, "agent", "requests") == {
        (0, "claude-1"): 4,
        (0, "claude-2"): 2,
        (0, "bot-9"): 3,
        (1, "claude-1"): 3,
        (2, "claude-1"): 1,
        (2, "claude-2"): 1,
        (3, "claude-2"): 2,
    }
    by_bytes = show(store, rng, "airlock-agents", "Top destinations by bytes")
    assert [(r["host"], r["bytes"]) for r in by_bytes[:3]] == [
        ("pypi.org", 5070),
        ("files.pythonhosted.org", 5010),
        ("registry.npmjs.org", 2100),
    ]


def pipeline(store: ChdbStore, rng: TimeRange, title: str) -> list[dict[str, Any]]:
    return show(store, rng, "airlock-pipeline", title)


def test_restarts_and_corruption(store: ChdbStore, shipped: Shipped, rng: TimeRange) -> None:
    [stat] = pipeline(store, rng, "Restarts and spool corruption")
    assert stat == {"restarts": 3, "spool_corruptions": 1, "corrupt_bytes": len(GARBAGE)}
    rows = pipeline(store, rng, "Component restarts")
    assert series(shipped, rows, "component", "restarts") == {(5, "proxy"): 2, (5, "store"): 1}
    keys = ("component", "restarts", "last_exit_code", "restarts_since_up")
    table = pipeline(store, rng, "Restarts by component")
    assert [tuple(r[k] for k in keys) for r in table] == [
        ("proxy", 2, "1", 2),
        ("store", 1, "1", 1),
    ]


def test_checkpoints_per_stream(store: ChdbStore, shipped: Shipped, rng: TimeRange) -> None:
    keys = ("stream", "checkpoints", "final_checkpoints", "head_seq", "interval_s")
    rows = pipeline(store, rng, "Audit checkpoints per stream")
    assert [tuple(r[k] for k in keys) for r in rows] == [
        # opening checkpoint (seq 1), the events, the final one signing the head before it
        ("gw/proxy", 2, 1, shipped.proxy_events + 1, "1"),
        ("gw/supervisor", 1, 1, 4, "1"),  # policy-loaded and three restarts
    ]
    since = (datetime.now(UTC) - shipped.ship_start).total_seconds()
    assert all(0 <= r["seconds_since_last"] <= since + 1 for r in rows)
    over_time = pipeline(store, rng, "Checkpoints per stream")
    totals: dict[str, int] = {}
    for r in over_time:
        totals[r["stream"]] = totals.get(r["stream"], 0) + r["checkpoints"]
    assert totals == {"gw/proxy": 2, "gw/supervisor": 1}


def _lag_bounds(store: ChdbStore, shipped: Shipped) -> list[tuple[int, str, float, float]]:
    """Per event: (minute after base, spool stream, lowest, highest possible lag in ms),
    from its ts and the wall clock around shipping; ingested_at is not read here."""
    out = []
    for r in store.query("SELECT ts, duration_ms, spool_stream FROM airlock_events"):
        ts = datetime.strptime(r["ts"], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
        made = ts + timedelta(milliseconds=r["duration_ms"])
        low = (shipped.ship_start - made).total_seconds() * 1000
        high = (shipped.ship_end - made).total_seconds() * 1000
        minute = int((ts.replace(second=0, microsecond=0) - shipped.base).total_seconds() // 60)
        out.append((minute, r["spool_stream"], max(0.0, low) - 2, max(0.0, high) + 2))
    return out


def test_time_to_queryable(store: ChdbStore, shipped: Shipped, rng: TimeRange) -> None:
    bounds = _lag_bounds(store, shipped)
    rows = pipeline(store, rng, "Time to queryable")
    assert {minute_of(shipped, r["time"]) for r in rows} == {b[0] for b in bounds}
    for row in rows:
        mine = [b for b in bounds if b[0] == minute_of(shipped, row["time"])]
        lows, highs = [b[2] for b in mine], [b[3] for b in mine]
        assert mean(lows) <= row["avg_ms"] <= mean(highs)
        assert max(lows) <= row["max_ms"] <= max(highs)
        assert min(lows) <= row["p99_ms"] <= row["max_ms"]
    # the fixture traffic is half an hour old: the lag is in minutes, not in seconds
    assert rows[0]["avg_ms"] > 25 * 60 * 1000


def test_time_to_queryable_by_spool_stream(
    store: ChdbStore, shipped: Shipped, rng: TimeRange
) -> None:
    bounds = _lag_bounds(store, shipped)
    rows = {r["spool_stream"]: r for r in pipeline(store, rng, "Time to queryable by spool stream")}
    assert {s: r["events"] for s, r in rows.items()} == {
        "proxy": shipped.proxy_events + 2,
        "supervisor": 5,
        "store": 1,
    }
    for stream, row in rows.items():
        mine = [b for b in bounds if b[1] == stream]
        assert mean(b[2] for b in mine) - 0.1 <= row["avg_ms"] <= mean(b[3] for b in mine) + 0.1
        assert max(b[2] for b in mine) - 0.1 <= row["max_ms"] <= max(b[3] for b in mine) + 0.1
