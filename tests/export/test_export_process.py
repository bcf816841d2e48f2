"""End to end: ``airlock up`` exports to a real rsyslogd (TLS, octet counting) and to a
local Splunk HEC; both receivers go down for 30 s mid-stream and Airlock restarts once
meanwhile. Every event in the audit trail must reach both, and any repeat must be an
exact copy under the same event id, so the receiver can drop it by id.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.airlock import AirlockInstance, free_port
from tests.support.hec_receiver import HecReceiver, hec_event_id
from tests.support.rsyslog import SD_EVENT_ID, Rsyslog, rsyslogd
from tests.support.tls import TestCA
from tests.support.upstream import HttpsUpstream

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(rsyslogd() is None, reason="apt-get install rsyslog rsyslog-gnutls"),
]
OUTAGE_SECONDS = 30
TOKEN_VAR = "AIRLOCK_TEST_HEC_TOKEN"


@dataclass
class Setup:
    airlock: AirlockInstance
    rsyslog: Rsyslog
    hec: HecReceiver
    upstream: HttpsUpstream
    archive: Path
    metrics_port: int


def sinks(rsyslog: Rsyslog, hec: HecReceiver, ca: TestCA, archive: Path) -> list[dict[str, Any]]:
    common = {"batch_events": 200, "batch_ms": 200, "retry_max_ms": 2000, "timeout_ms": 3000}
    return [
        {
            "name": "siem-syslog",
            "format": "cef",
            "transport": "syslog-tls",
            "address": f"localhost:{rsyslog.port}",
            "ca_file": str(ca.cert_path),
            **common,
        },
        {
            "name": "splunk",
            "format": "hec",
            "transport": "hec",
            "url": hec.url,
            "ca_file": str(ca.cert_path),
            "secret_env": TOKEN_VAR,
            **common,
        },
        {  # run only by hand: `airlock export run --sink archive`
            "name": "archive",
            "format": "ocsf",
            "transport": "file",
            "path": str(archive),
            "enabled": False,
        },
    ]


@pytest.fixture(scope="module")
def setup(
    tmp_path_factory: pytest.TempPathFactory, test_ca: TestCA, plain_upstream: HttpsUpstream
) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("export-e2e")
    token = secrets.token_hex(16)  # built at run time, never a literal
    rsyslog = Rsyslog(root / "rsyslog", test_ca).start()
    hec = HecReceiver(test_ca, root / "hec", token).start()
    archive, metrics_port = root / "archive" / "airlock.jsonl", free_port()
    export = {
        "sinks": sinks(rsyslog, hec, test_ca, archive),
        "settle_ms": 1000,
        "poll_ms": 200,
        "metrics_listen": f"127.0.0.1:{metrics_port}",
    }
    airlock = AirlockInstance(
        root / "airlock",
        upstream_ca=test_ca.cert_path,
        extra_env={"AIRLOCK_EXPORT": json.dumps(export), TOKEN_VAR: token},
    )
    airlock.start()
    airlock.add_profile(
        "export", [{"host": "127.0.0.1", "ports": [plain_upstream.port], "allow_private": True}]
    )
    yield Setup(airlock, rsyslog, hec, plain_upstream, archive, metrics_port)
    airlock.stop()
    hec.stop()
    rsyslog.stop()


def traffic(setup: Setup, task: dict[str, Any], n: int) -> None:
    with httpx.Client(proxy=task["proxy_url"], trust_env=False, timeout=10) as client:
        for i in range(n):
            resp = client.get(f"{setup.upstream.ip_url}/echo?n={i}")
            assert resp.status_code == 200, resp.text


def trail_ids(setup: Setup, key: str) -> set[str]:
    return {e["event_id"] for e in setup.airlock.all_events(key)}


def syslog_copies(rsyslog: Rsyslog) -> dict[str, list[str]]:
    copies: dict[str, list[str]] = defaultdict(list)
    for message in rsyslog.messages():
        found = SD_EVENT_ID.search(message["structured-data"])
        assert found, message  # every record carries its event id
        copies[found.group(1)].append(message["structured-data"] + message["msg"])
    return copies


def hec_copies(hec: HecReceiver) -> dict[str, list[str]]:
    copies: dict[str, list[str]] = defaultdict(list)
    for obj in list(hec.events):
        event_id = hec_event_id(obj)
        assert event_id, obj
        copies[event_id].append(json.dumps(obj, sort_keys=True))
    return copies


def wait_delivered(setup: Setup, expected: set[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        missing_syslog = expected - syslog_copies(setup.rsyslog).keys()
        missing_hec = expected - hec_copies(setup.hec).keys()
        if not missing_syslog and not missing_hec:
            return
        time.sleep(1)
    raise AssertionError(f"missing: syslog {len(missing_syslog)}, hec {len(missing_hec)}")


def test_outage_and_restart_lose_nothing_and_repeats_are_exact(setup: Setup) -> None:
    key = setup.airlock.api_key("auditor")
    task = setup.airlock.create_task("exporter-e2e", "export")
    traffic(setup, task, 150)
    setup.rsyslog.stop()
    setup.hec.stop()
    down_at = time.monotonic()
    traffic(setup, task, 150)
    setup.airlock.stop()  # restart with a backlog nobody has acknowledged
    setup.airlock.start()
    traffic(setup, task, 150)
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))
    setup.rsyslog.start()
    setup.hec.start()
    traffic(setup, task, 150)
    time.sleep(2)  # let the last requests reach ClickHouse
    expected = trail_ids(setup, key)
    assert len(expected) > 600
    wait_delivered(setup, expected)
    for copies in (syslog_copies(setup.rsyslog), hec_copies(setup.hec)):
        repeats = {i: c for i, c in copies.items() if len(c) > 1}
        assert all(len(set(c)) == 1 for c in repeats.values()), "a repeat differs from its first"
    kinds = [
        (e["kind"], e["detail"].get("sink"))
        for e in setup.airlock.all_events(key)
        if e["kind"].startswith("export-")
    ]
    for sink in ("siem-syslog", "splunk"):
        assert ("export-failed", sink) in kinds and ("export-recovered", sink) in kinds


def sink_status(airlock: AirlockInstance) -> dict[str, dict[str, Any]]:
    rows = json.loads(airlock.cli("export", "status", "--json").stdout)["sinks"]
    return {row["sink"]: row for row in rows}


def wait_status(
    airlock: AirlockInstance, check: Callable[[dict[str, dict[str, Any]]], bool]
) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + 60
    while not check(status := sink_status(airlock)):
        assert time.monotonic() < deadline, status
        time.sleep(0.5)
    return status


def test_status_metrics_backfill_and_rewind_through_the_cli(setup: Setup) -> None:
    airlock = setup.airlock
    by_name = wait_status(airlock, lambda s: s["splunk"].get("delivered", 0) > 0)
    assert by_name["splunk"]["failing_since"] is None
    assert by_name["archive"] == {
        "sink": "archive",
        "configured": True,
        "enabled": False,
        "transport": "file",
        "format": "ocsf",
    }
    metrics = httpx.get(f"http://127.0.0.1:{setup.metrics_port}/metrics", timeout=5).text
    assert 'airlock_export_delivered_total{sink="siem-syslog"}' in metrics
    assert 'airlock_export_lag_seconds{sink="splunk"}' in metrics

    key = airlock.api_key("auditor")
    everything = airlock.all_events(key)
    stamps = sorted(e["ts"] for e in everything)
    first, last = stamps[0], stamps[-1]
    window = [e for e in everything if first <= e["ts"] < last]
    run = airlock.cli("export", "run", "--sink", "archive", "--from", first, "--to", last)
    assert f"{len(window)} records backfilled" in run.stdout
    archived = setup.archive.read_text().splitlines()
    assert {e["event_id"] for e in window} <= {
        json.loads(line)["metadata"]["uid"] for line in archived
    }

    assert airlock.cli("export", "run", "--sink", "archive", "--once").returncode == 0
    state = sink_status(airlock)
    assert state["archive"]["delivered"] >= len(everything)

    before = len(setup.hec.events)  # the exporter may re-send before the command returns
    rewound = json.loads(
        airlock.cli("export", "rewind", "--sink", "splunk", "--from", first, "--json").stdout
    )
    assert rewound["sink"] == "splunk" and rewound["generation"] >= 1
    deadline = time.monotonic() + 60
    while len(setup.hec.events) < before + len(window) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(setup.hec.events) >= before + len(window)  # re-delivered from `first`
    assert airlock.cli("export", "run", "--sink", "nope", check=False).returncode == 2
