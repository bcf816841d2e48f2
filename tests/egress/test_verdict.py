"""Verdicts, the refusal body, and the Decider against an unreachable and a real OPA."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.control.tasks import TaskInfo
from gateway.egress.destination import Resolver
from gateway.egress.verdict import Decider, RequestFacts, Verdict, deny_body, refusal
from gateway.policy.client import PolicyClient

REPO = Path(__file__).resolve().parents[2]
OPA = REPO / ".bin" / "opa"


def make_task(profile: str = "registries") -> TaskInfo:
    now = datetime.now(UTC)
    return TaskInfo(
        task_id="tsk_0123456789abcdef",
        tenant="default",
        agent="bot",
        profile=profile,
        status="active",
        created_at=now,
        expires_at=now + timedelta(hours=1),
        ended_at=None,
    )


def https_get(host: str, port: int = 443, method: str = "GET") -> RequestFacts:
    return RequestFacts(
        kind="http", host=host, port=port, method=method, scheme="https", path="/simple/"
    )


# Verdict / refusal ----------------------------------------------------------------------


def test_refusal_defaults_rule_from_reason() -> None:
    verdict = refusal("task_killed", "task is killed")
    assert verdict.allow is False
    assert verdict.reasons == ("task_killed",)
    assert verdict.rules == ("airlock.gateway.task_killed",)
    assert verdict.message == "task is killed"
    assert verdict.revision == ""
    assert verdict.reason == "task_killed"
    assert verdict.rule == "airlock.gateway.task_killed"


def test_refusal_with_rule_and_revision() -> None:
    verdict = refusal("tunnel_refused", "no tunnels", rule="airlock.gateway.tunnel", revision="r7")
    assert verdict.rule == "airlock.gateway.tunnel"
    assert verdict.revision == "r7"


def test_reason_and_rule_take_the_first() -> None:
    verdict = Verdict(False, ("a", "b"), ("rule.a", "rule.b"), "m", "rev")
    assert (verdict.reason, verdict.rule) == ("a", "rule.a")


def test_reason_and_rule_empty() -> None:
    verdict = Verdict(True, (), (), "allowed", "rev")
    assert (verdict.reason, verdict.rule) == ("", "")


def test_deny_body_fields() -> None:
    verdict = Verdict(
        False,
        ("destination_not_allowed", "x"),
        ("airlock.network.destination_not_allowed", "y"),
        "Destination example.com:443 is not in the allow list.",
        "abc123",
    )
    body = json.loads(deny_body(verdict, "req-1"))
    assert body == {
        "error": "request denied by Airlock",
        "reason": "destination_not_allowed",
        "rule": "airlock.network.destination_not_allowed",
        "message": "Destination example.com:443 is not in the allow list.",
        "request_id": "req-1",
        "policy_revision": "abc123",
        "retryable": False,
    }


@pytest.mark.parametrize(
    ("reason", "retryable"),
    [
        ("policy_unavailable", True),
        ("audit_unavailable", True),
        ("destination_not_allowed", False),
        ("private_destination", False),
        ("task_killed", False),
        ("", False),
    ],
)
def test_deny_body_retryable(reason: str, retryable: bool) -> None:
    verdict = Verdict(False, (reason,) if reason else (), (), "m", "")
    assert json.loads(deny_body(verdict, "r"))["retryable"] is retryable


def test_deny_body_is_utf8_json_bytes() -> None:
    body = deny_body(refusal("x", "naïve ☃"), "r")
    assert isinstance(body, bytes)
    assert json.loads(body.decode("utf-8"))["message"] == "naïve ☃"


# Decider, policy engine unreachable (a real failure path) -------------------------------


async def test_unreachable_policy_denies() -> None:
    client = PolicyClient("http://127.0.0.1:1", timeout_ms=2000)
    try:
        verdict = await Decider(client, Resolver()).decide(make_task(), https_get("192.0.2.10"))
    finally:
        await client.aclose()
    assert verdict.allow is False
    assert verdict.reason == "policy_unavailable"
    assert verdict.rule == "airlock.gateway.policy_unavailable"
    assert verdict.message.startswith("request denied: ")
    assert json.loads(deny_body(verdict, "r"))["retryable"] is True


# Decider against the real OPA -------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def opa_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not OPA.is_file():
        pytest.fail(f"opa binary not found at {OPA}")
    port = _free_port()
    log = (tmp_path_factory.mktemp("opa") / "opa.log").open("wb")
    proc = subprocess.Popen(
        [str(OPA), "run", "--server", "--addr", f"127.0.0.1:{port}", str(REPO / "policies")],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30  # a start-up wait, not an assertion on speed
        while True:
            if proc.poll() is not None:
                pytest.fail(f"opa exited with {proc.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(url + "/health", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"opa did not become healthy; see {log.name}")
            time.sleep(0.05)
        yield url
    finally:
        proc.kill()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture
async def decider(opa_url: str) -> AsyncIterator[Decider]:
    client = PolicyClient(opa_url, timeout_ms=5000)
    try:
        yield Decider(client, Resolver())
    finally:
        await client.aclose()


async def test_opa_allows_registry(decider: Decider) -> None:
    verdict = await decider.decide(make_task("registries"), https_get("pypi.org"))
    assert verdict.allow is True
    assert verdict.reasons == ("allowed",)
    assert verdict.rule.startswith("profile/registries/allow/")
    assert "pypi.org:443" in verdict.message


async def test_opa_denies_unlisted_destination(decider: Decider) -> None:
    verdict = await decider.decide(make_task("registries"), https_get("example.com"))
    assert verdict.allow is False
    assert verdict.reason == "destination_not_allowed"
    assert verdict.rule == "airlock.network.destination_not_allowed"
    assert "example.com:443" in verdict.message
    assert json.loads(deny_body(verdict, "r"))["retryable"] is False


async def test_opa_denies_wrong_method(decider: Decider) -> None:
    verdict = await decider.decide(make_task("registries"), https_get("pypi.org", method="POST"))
    assert verdict.allow is False
    assert verdict.reason == "destination_not_allowed"


async def test_opa_denies_unknown_profile(decider: Decider) -> None:
    verdict = await decider.decide(make_task("no-such-profile"), https_get("pypi.org"))
    assert verdict.allow is False
    assert verdict.reason == "unknown_profile"


async def test_opa_revision_without_bundle_is_unknown(decider: Decider) -> None:
    verdict = await decider.decide(make_task("registries"), https_get("pypi.org"))
    assert verdict.revision == "unknown"
