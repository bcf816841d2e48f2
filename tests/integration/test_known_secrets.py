"""Operator-registered known secrets: caught through the real proxy in encoded forms."""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

import httpx
import pytest

from tests.support.airlock import AirlockInstance
from tests.support.upstream import HttpsUpstream

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def known(airlock: AirlockInstance, upstream: HttpsUpstream) -> tuple[dict[str, Any], str]:
    """A random value no provider rule would flag, registered as a known secret."""
    value = "vault-" + secrets.token_hex(12)
    airlock.add_profile(
        "known", [{"host": "localhost", "ports": [upstream.port], "allow_private": True}]
    )
    out = airlock.cli(
        "secrets",
        "register",
        "billing-db-password",
        "--from-env",
        "KNOWN_VALUE",
        "--json",
        env={"KNOWN_VALUE": value},
    )
    assert value not in out.stdout and value not in out.stderr
    listing = airlock.cli("secrets", "list", "--json").stdout
    assert "billing-db-password" in listing and value not in listing
    time.sleep(6)  # the proxy refreshes known secrets every 5 s
    return airlock.create_task("known-agent", "known"), value


def test_known_secret_is_caught_raw_and_base64(
    known: tuple[dict[str, Any], str], upstream: HttpsUpstream
) -> None:
    task, value = known
    encoded = base64.b64encode(f"admin:{value}".encode()).decode()
    body = json.dumps({"password": value, "blob": encoded}).encode()
    with httpx.Client(proxy=task["proxy_url"], verify=task["ca_cert"], trust_env=False) as c:
        resp = c.post(
            f"{upstream.url}/echo?case=known", content=body, headers={"X-Basic": f"Basic {encoded}"}
        )
    assert resp.status_code == 200
    seen = json.dumps([(r.path, r.headers) for r in upstream.requests if "case=known" in r.path])
    assert value not in seen and encoded not in seen
    assert resp.json()["body_length"] != len(body)


def test_known_secret_findings_name_the_secret_not_its_value(
    airlock: AirlockInstance, known: tuple[dict[str, Any], str], auditor_key: str
) -> None:
    task, value = known
    events = airlock.wait_events(
        auditor_key, lambda ev: bool(ev), kind="secret-finding", task_id=task["task_id"]
    )
    outbound = [e for e in events if e["detail"]["direction"] == "outbound"]
    assert {e["detail"]["known_name"] for e in outbound} == {"billing-db-password"}
    assert {e["detail"]["detector"] for e in outbound} == {"known_secret"}
    assert value not in json.dumps(events)
