"""Backpressure when the audit store is down, refused tunnels, graceful drain on stop."""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.airlock import AirlockInstance
from tests.support.tls import TestCA
from tests.support.upstream import HttpsUpstream

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def small_spool(
    tmp_path_factory: pytest.TempPathFactory, test_ca: TestCA, upstream: HttpsUpstream
) -> Iterator[tuple[AirlockInstance, dict[str, Any]]]:
    instance = AirlockInstance(
        tmp_path_factory.mktemp("small"),
        upstream_ca=test_ca.cert_path,
        extra_env={"AIRLOCK_SPOOL_MAX_BYTES": "60000", "AIRLOCK_SPOOL_SEGMENT_BYTES": "8192"},
    )
    instance.start()
    instance.add_profile(
        "bp", [{"host": "localhost", "ports": [upstream.port], "allow_private": True}]
    )
    yield instance, instance.create_task("bp-agent", "bp")
    instance.stop()


def client(task: dict[str, Any]) -> httpx.Client:
    return httpx.Client(proxy=task["proxy_url"], verify=task["ca_cert"], trust_env=False)


def test_dead_store_fills_spool_then_proxy_refuses_with_503(
    small_spool: tuple[AirlockInstance, dict[str, Any]], upstream: HttpsUpstream
) -> None:
    instance, task = small_spool
    key = instance.api_key("auditor")
    instance.kill_child("store", signal.SIGSTOP)  # ClickHouse side hangs: nothing ships
    statuses: list[int] = []
    refusal: dict[str, Any] = {}
    try:
        with client(task) as c:
            for i in range(400):
                resp = c.get(f"{upstream.url}/echo?i={i}")
                statuses.append(resp.status_code)
                if resp.status_code == 503:
                    refusal = resp.json()
                    break
                time.sleep(0.01)
    finally:
        instance.kill_child("store", signal.SIGCONT)
    assert statuses[-1] == 503, "the proxy never stopped accepting traffic"
    assert refusal["reason"] == "audit_unavailable" and "spool full" in refusal["message"]
    allowed = statuses.count(200)
    # Once the store ships again, the spool drains and traffic flows.
    deadline = time.monotonic() + 30
    status = 503
    with client(task) as c:
        while status != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
            status = c.get(f"{upstream.url}/echo?after=1").status_code
    assert status == 200
    events = instance.wait_events(
        key,
        lambda ev: sum(e["status"] == 200 for e in ev) >= allowed + 1,
        timeout=30,
        task_id=task["task_id"],
        kind="http-request",
    )
    assert sum(e["status"] == 200 for e in events) == allowed + 1  # every answered one


def test_opaque_tunnel_is_refused_and_audited(
    small_spool: tuple[AirlockInstance, dict[str, Any]], upstream: HttpsUpstream
) -> None:
    """A CONNECT to a host and port the profile allows, carrying neither TLS nor HTTP."""
    instance, task = small_spool
    key = instance.api_key("auditor")
    token_part = task["proxy_url"].removeprefix("http://").split("@")[0]
    import base64

    auth = base64.b64encode(token_part.encode()).decode()
    with socket.create_connection(("127.0.0.1", instance.proxy_port), timeout=10) as s:
        s.sendall(
            f"CONNECT localhost:{upstream.port} HTTP/1.1\r\nHost: localhost:{upstream.port}\r\n"
            f"Proxy-Authorization: Basic {auth}\r\n\r\n".encode()
        )
        assert b" 200 " in s.recv(4096)
        s.sendall(b"SSH-2.0-OpenSSH_9.0\r\n")  # not TLS, not HTTP
        s.settimeout(10)
        try:
            leftover = s.recv(4096)
        except ConnectionResetError:
            leftover = b""
        assert leftover == b""  # closed without relaying anything
    events = instance.wait_events(key, lambda ev: bool(ev), kind="tunnel-refused")
    assert events[0]["decision"] == "deny" and events[0]["reasons"] == ["opaque_tunnel"]


def test_sigterm_drains_in_flight_requests(
    small_spool: tuple[AirlockInstance, dict[str, Any]], upstream: HttpsUpstream
) -> None:
    instance, task = small_spool
    result: dict[str, Any] = {}

    def slow_request() -> None:
        with client(task) as c:
            resp = c.get(f"{upstream.url}/sse?n=6&interval=0.3")
            result["status"], result["events"] = resp.status_code, resp.text.count("data:")

    worker = threading.Thread(target=slow_request)
    worker.start()
    time.sleep(0.6)  # the request is in flight
    code = instance.stop()
    worker.join(30)
    assert code == 0
    assert result == {"status": 200, "events": 6}
