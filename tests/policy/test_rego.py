"""The OPA policy bundle: formatting, strict compile, Rego unit tests, and the decision
contract the proxy relies on (``data.airlock.decision`` evaluated on JSON input)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "policies"
ENTRYPOINT = "data.airlock.decision"


def _opa() -> str:
    pinned = REPO / ".bin" / "opa"
    if pinned.is_file():
        return str(pinned)
    found = shutil.which("opa")
    if found is None:
        pytest.fail(f"opa binary not found: neither {pinned} nor `opa` on PATH")
    return found


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_opa(), *args],
        cwd=REPO,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _assert_ok(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 0, (
        f"{' '.join(proc.args)} exited {proc.returncode}\n"
        f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    )


def test_opa_fmt() -> None:
    _assert_ok(_run("fmt", "--list", "--fail", "policies"))


def test_opa_check_strict() -> None:
    _assert_ok(_run("check", "--strict", "policies"))


def test_opa_test() -> None:
    proc = _run("test", "policies", "-v")
    _assert_ok(proc)
    assert "FAIL" not in proc.stdout


def decide(payload: Any) -> dict[str, Any]:
    proc = _run(
        "eval",
        "-d",
        "policies",
        "-I",
        ENTRYPOINT,
        "--format",
        "json",
        stdin=json.dumps(payload),
    )
    _assert_ok(proc)
    result = json.loads(proc.stdout)["result"]
    assert len(result) == 1, f"decision undefined or ambiguous for {payload!r}: {proc.stdout}"
    decision: dict[str, Any] = result[0]["expressions"][0]["value"]
    assert set(decision) == {
        "allow",
        "reasons",
        "rules",
        "messages",
        "profile",
        "secrets",
        "credentials",
    }
    assert set(decision["secrets"]) == {"outbound", "inbound"}
    assert isinstance(decision["allow"], bool)
    assert len(decision["reasons"]) == len(decision["rules"]) == len(decision["messages"]) >= 1
    return decision


def http(
    profile: str,
    host: str,
    port: int,
    method: str,
    addresses: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "kind": "http",
        "task": {"id": "t-1", "tenant": "default", "agent": "claude-1", "profile": profile},
        "destination": {"host": host, "port": port, "addresses": addresses or []},
        "request": {"method": method, "scheme": "https", "path": "/simple/"},
    }


@pytest.mark.parametrize(
    ("payload", "allow", "reason", "rule"),
    [
        pytest.param(
            http("registries", "pypi.org", 443, "GET", ["151.101.0.223"]),
            True,
            "allowed",
            "profile/registries/allow/0",
            id="registry-get",
        ),
        pytest.param(
            http("registries", "raw.githubusercontent.com", 443, "GET"),
            True,
            "allowed",
            "profile/registries/allow/4",
            id="wildcard-subdomain",
        ),
        pytest.param(
            {
                "kind": "connect",
                "task": {"profile": "registries"},
                "destination": {"host": "github.com", "port": 443},
            },
            True,
            "allowed",
            "profile/registries/allow/3",
            id="connect-no-method",
        ),
        pytest.param(
            http("registries", "pypi.org", 443, "POST"),
            False,
            "destination_not_allowed",
            "airlock.network.destination_not_allowed",
            id="method-mismatch",
        ),
        pytest.param(
            http("registries", "githubusercontent.com", 443, "GET"),
            False,
            "destination_not_allowed",
            "airlock.network.destination_not_allowed",
            id="wildcard-apex",
        ),
        pytest.param(
            http("registries", "pypi.org", 443, "GET", ["169.254.169.254"]),
            False,
            "private_destination",
            "airlock.network.private_destination",
            id="resolves-to-metadata",
        ),
        pytest.param(
            http("default", "pypi.org", 443, "GET"),
            False,
            "destination_not_allowed",
            "airlock.network.destination_not_allowed",
            id="default-profile-denies",
        ),
        pytest.param(
            http("no-such-profile", "pypi.org", 443, "GET"),
            False,
            "unknown_profile",
            "airlock.network.unknown_profile",
            id="unknown-profile",
        ),
        pytest.param(
            {}, False, "unknown_profile", "airlock.network.unknown_profile", id="empty-input"
        ),
    ],
)
def test_decision_contract(payload: Any, allow: bool, reason: str, rule: str) -> None:
    decision = decide(payload)
    assert decision["allow"] is allow
    assert decision["reasons"][0] == reason
    assert decision["rules"][0] == rule
    assert decision["profile"] == payload.get("task", {}).get("profile", "")
    if allow:
        assert decision["reasons"] == ["allowed"]
    else:
        assert "allowed" not in decision["reasons"]


def test_decision_message_names_destination_and_profile() -> None:
    decision = decide(http("registries", "example.com", 443, "GET"))
    assert decision["messages"] == [
        'Destination example.com:443 is not in the allow list of profile "registries".'
    ]
    unlisted = decide(http("registries", "example.com", 8443, "GET"))
    assert unlisted["reasons"] == ["port_not_allowed"]
    assert unlisted["messages"] == [
        "Destination example.com:8443 is on a port that no allow entry of profile"
        ' "registries" lists.'
    ]
