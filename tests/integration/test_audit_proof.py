"""The audit proof end to end: live traffic, chained, signed, verified, exported, re-verified."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.airlock import REPO, AirlockInstance
from tests.support.tls import TestCA
from tests.support.upstream import HttpsUpstream

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def proven(
    tmp_path_factory: pytest.TempPathFactory, test_ca: TestCA, plain_upstream: HttpsUpstream
) -> Iterator[AirlockInstance]:
    instance = AirlockInstance(
        tmp_path_factory.mktemp("proof"),
        upstream_ca=test_ca.cert_path,
        extra_env={"AIRLOCK_CHECKPOINT_SECONDS": "1", "AIRLOCK_EVIDENCE_MARGIN_SECONDS": "1"},
    )
    instance.start()
    instance.add_profile(
        "proof", [{"host": "127.0.0.1", "ports": [plain_upstream.port], "allow_private": True}]
    )
    yield instance
    instance.stop()


def get(task: dict[str, Any], url: str) -> httpx.Response:
    with httpx.Client(proxy=task["proxy_url"], trust_env=False, timeout=10) as client:
        return client.get(url)


def traffic(instance: AirlockInstance, upstream: HttpsUpstream) -> tuple[str, str, datetime]:
    """alice and bob make calls; returns their task ids and a time before them."""
    start = datetime.now(UTC) - timedelta(seconds=1)
    alice = instance.create_task("alice", "proof")
    bob = instance.create_task("bob", "proof")
    for i in range(5):
        assert get(alice, f"{upstream.ip_url}/echo?a={i}").status_code == 200
        assert get(bob, f"{upstream.ip_url}/echo?b={i}").status_code == 200
    assert get(alice, "http://198.51.100.7/denied").status_code == 403
    return alice["task_id"], bob["task_id"], start


def sealed(instance: AirlockInstance, key: str, task_id: str) -> None:
    """Wait until alice's requests are in ClickHouse and a checkpoint after them is too."""
    instance.wait_events(key, lambda ev: len(ev) >= 6, task_id=task_id, kind="http-request")
    after = datetime.now(UTC) + timedelta(seconds=1.5)
    instance.wait_events(
        key,
        lambda ev: any(e["ts"] >= after.strftime("%Y-%m-%d %H:%M:%S") for e in ev),
        kind="audit-checkpoint",
        timeout=30,
    )


def test_live_trail_verifies_and_exports_a_bundle_that_verifies_offline(
    proven: AirlockInstance, plain_upstream: HttpsUpstream, tmp_path: Path
) -> None:
    key = proven.api_key("auditor")
    alice_task, _, start = traffic(proven, plain_upstream)
    end = datetime.now(UTC)
    sealed(proven, key, alice_task)

    verified = proven.cli("audit", "verify", "--from", start.isoformat(), "--to", end.isoformat())
    assert verified.stdout.startswith("VERIFIED"), verified.stdout

    published = proven.cli("audit", "pubkey", "--json")
    api_key = httpx.get(
        f"{proven.api_url}/v1/audit/pubkey", headers={"Authorization": f"Bearer {key}"}
    ).json()
    assert json.loads(published.stdout)["public_key_pem"] == api_key["public_key_pem"]
    pem = tmp_path / "audit.pub.pem"
    pem.write_text(api_key["public_key_pem"])

    bundle = tmp_path / "alice.json"
    proven.cli(
        "audit", "export", "--agent", "alice", "--task", alice_task,
        "--from", start.isoformat(), "--to", end.isoformat(), "--out", str(bundle),
    )  # fmt: skip
    data = json.loads(bundle.read_text())
    full = [link["event"] for s in data["streams"] for link in s["links"] if "event" in link]
    requests = [e for e in full if e["kind"] == "http-request"]
    assert {e["agent"] for e in requests} == {"alice"} and len(requests) == 6
    assert "bob" not in {e["agent"] for e in full}  # only headers of bob's links are shown

    ok = proven.cli("audit", "verify-bundle", str(bundle), "--pubkey", str(pem))
    assert ok.stdout.startswith("VERIFIED: 7 event(s)"), ok.stdout  # task-created + 6 requests
    script = subprocess.run(
        [sys.executable, str(REPO / "verifier" / "airlock_verify.py"), str(bundle), "--pubkey",
         str(pem)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert script.returncode == 0, script.stdout
    assert "VERIFIED: 7 event(s)" in script.stdout

    # Drop one of alice's events from the bundle: both verifiers refuse it.
    for stream in data["streams"]:
        for link in stream["links"]:
            if link.get("event", {}).get("kind") == "http-request":
                del link["event"]
                break
    bundle.write_text(json.dumps(data))
    bad = proven.cli("audit", "verify-bundle", str(bundle), "--pubkey", str(pem), check=False)
    assert bad.returncode == 1 and "missing-event" in bad.stdout
    script = subprocess.run(
        [sys.executable, str(REPO / "verifier" / "airlock_verify.py"), str(bundle), "--pubkey",
         str(pem)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert script.returncode == 1 and "missing-event" in script.stdout


def test_verify_and_export_need_a_key_for_every_tenant(proven: AirlockInstance) -> None:
    scoped = proven.api_key("auditor", tenant="default")
    resp = httpx.get(
        f"{proven.api_url}/v1/audit/verify",
        params={"from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z"},
        headers={"Authorization": f"Bearer {scoped}"},
    )
    assert resp.status_code == 403 and resp.json()["error"] == "forbidden"
