"""PolicyClient against the real OPA (bundle from a real BundleServer), and its failures.

The failure modes OPA cannot be made to produce on demand (hang, HTTP 500, an
undefined decision, bad JSON) use the scripted server from test_opa_http.py.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.errors import PolicyUnavailableError
from gateway.policy.bundle import build_bundle
from gateway.policy.bundle_server import BundleServer, BundleSource
from gateway.policy.client import DECISION_PATH, Decision, PolicyClient
from gateway.policy.opa_process import opa_command, opa_config
from tests.policy.test_bundle import POLICIES, REPO
from tests.policy.test_opa_http import HANG, ScriptedServer, http_response
from tests.support.airlock import free_port

OPA = REPO / ".bin" / "opa"


@dataclass
class LiveOpa:
    url: str
    policy_dir: Path


@pytest.fixture(scope="module")
def opa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveOpa]:
    root = tmp_path_factory.mktemp("opa")
    policy_dir = root / "policies"
    shutil.copytree(POLICIES, policy_dir)
    bundles = BundleServer(BundleSource(policy_dir))
    bundles.start()
    config = root / "opa.yaml"
    config.write_text(opa_config(bundles.url, 1))
    listen = f"127.0.0.1:{free_port()}"
    proc = subprocess.Popen(
        opa_command(str(OPA), listen, config), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://{listen}"
    try:
        _wait_for_bundle(url, proc)
        yield LiveOpa(url, policy_dir)
    finally:
        proc.terminate()
        proc.wait(10)
        bundles.stop()


def _wait_for_bundle(url: str, proc: subprocess.Popen[bytes]) -> None:
    """Readiness wait (not an assertion on speed): OPA says healthy once the bundle is active."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            pytest.fail(f"opa exited with {proc.returncode}: {err}")
        try:
            if httpx.get(f"{url}/health?bundles=true", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    pytest.fail("opa did not activate the bundle")


@pytest.fixture
async def client(opa: LiveOpa) -> AsyncIterator[PolicyClient]:
    c = PolicyClient(opa.url, timeout_ms=5000)
    yield c
    await c.aclose()


def http_input(profile: str, host: str, method: str = "GET") -> dict[str, Any]:
    return {
        "kind": "http",
        "task": {"id": "t-1", "tenant": "default", "agent": "claude-1", "profile": profile},
        "destination": {"host": host, "port": 443, "addresses": ["151.101.0.223"]},
        "request": {"method": method, "scheme": "https", "path": "/simple/"},
    }


# Against the real OPA ---------------------------------------------------------


async def test_allow_carries_the_bundle_revision(opa: LiveOpa, client: PolicyClient) -> None:
    decision = await client.decide(http_input("registries", "pypi.org"))
    assert decision.allow is True
    assert decision.reasons == ("allowed",)
    assert decision.rules == ("profile/registries/allow/0",)
    assert len(decision.messages) == 1 and "pypi.org" in decision.messages[0]
    revision = build_bundle(opa.policy_dir).revision
    assert revision.startswith("nogit.")
    assert decision.revision == revision


async def test_deny_has_reasons_and_rules(opa: LiveOpa, client: PolicyClient) -> None:
    decision = await client.decide(http_input("registries", "pypi.org", method="POST"))
    assert decision.allow is False
    assert decision.reasons[0] == "destination_not_allowed"
    assert decision.rules[0] == "airlock.network.destination_not_allowed"
    assert decision.revision == build_bundle(opa.policy_dir).revision


async def test_unknown_profile_denies(client: PolicyClient) -> None:
    decision = await client.decide(http_input("no-such-profile", "pypi.org"))
    assert decision.allow is False
    assert decision.reasons[0] == "unknown_profile"


async def test_many_decisions_share_the_client(client: PolicyClient) -> None:
    verdicts = [
        (await client.decide(http_input(p, "pypi.org"))).allow for p in ("registries", "default")
    ] * 2
    assert verdicts == [True, False, True, False]


# Failures: every one is PolicyUnavailableError (the caller fails closed) ---------


async def test_closed_port_is_unavailable() -> None:
    client = PolicyClient(f"http://127.0.0.1:{free_port()}", timeout_ms=2000)
    with pytest.raises(PolicyUnavailableError, match="unreachable") as info:
        await client.decide({})
    assert info.value.code == "policy_unavailable"
    await client.aclose()


async def test_silent_server_times_out() -> None:
    async with ScriptedServer(HANG) as server:
        client = PolicyClient(server.url, timeout_ms=100)
        with pytest.raises(PolicyUnavailableError, match="did not answer within 100 ms"):
            await client.decide({})
        await client.aclose()


async def test_http_500_is_unavailable() -> None:
    async with ScriptedServer(http_response(500, b'{"code": "internal_error"}')) as server:
        client = PolicyClient(server.url, timeout_ms=2000)
        with pytest.raises(PolicyUnavailableError, match="HTTP 500"):
            await client.decide({})
        await client.aclose()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"result": {}}', id="undefined-allow"),
        pytest.param(b"{}", id="no-result"),
        pytest.param(b'{"result": {"allow": "yes"}}', id="allow-not-bool"),
        pytest.param(b'{"result": true}', id="result-not-object"),
    ],
)
async def test_undefined_decision_is_unavailable(body: bytes) -> None:
    async with ScriptedServer(http_response(200, body)) as server:
        client = PolicyClient(server.url, timeout_ms=2000)
        with pytest.raises(PolicyUnavailableError, match="no decision"):
            await client.decide({})
        await client.aclose()


@pytest.mark.parametrize(
    "body", [pytest.param(b"{not json", id="bad-json"), pytest.param(b"[1]", id="list")]
)
async def test_unusable_body_is_unavailable(body: bytes) -> None:
    async with ScriptedServer(http_response(200, body)) as server:
        client = PolicyClient(server.url, timeout_ms=2000)
        with pytest.raises(PolicyUnavailableError):
            await client.decide({})
        await client.aclose()


async def test_request_asks_for_provenance_and_wraps_input() -> None:
    answer = http_response(200, b'{"result": {"allow": true}}')
    async with ScriptedServer(answer) as server:
        client = PolicyClient(server.url, timeout_ms=2000)
        decision = await client.decide({"kind": "http"})
        await client.aclose()
    assert server.requests[0].startswith(f"POST {DECISION_PATH}?provenance=true HTTP/1.1".encode())
    assert server.requests[0].endswith(b'{"input":{"kind":"http"}}')
    assert decision == Decision(True, (), (), (), "unknown")


# Decision.from_opa ------------------------------------------------------------


def test_revision_prefers_the_airlock_bundle() -> None:
    body = {
        "result": {"allow": False, "reasons": ["r"], "rules": ["x"], "messages": ["m"]},
        "provenance": {"bundles": {"other": {"revision": "o1"}, "airlock": {"revision": "a1"}}},
    }
    assert Decision.from_opa(body) == Decision(False, ("r",), ("x",), ("m",), "a1")


def test_revision_falls_back_to_any_bundle_then_unknown() -> None:
    body: dict[str, Any] = {
        "result": {"allow": True},
        "provenance": {"bundles": {"other": {"revision": "o1"}}},
    }
    assert Decision.from_opa(body).revision == "o1"
    assert Decision.from_opa({"result": {"allow": True}}).revision == "unknown"
