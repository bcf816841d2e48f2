"""End to end through a real `airlock up`: curl, requests, httpx; decisions; audit."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from typing import Any

import httpx
import pytest
import requests

from tests.support.airlock import AirlockInstance, client_env, curl
from tests.support.upstream import HttpsUpstream

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def task(
    airlock: AirlockInstance, upstream: HttpsUpstream, plain_upstream: HttpsUpstream
) -> dict[str, Any]:
    airlock.add_profile(
        "e2e",
        [
            {
                "host": "localhost",
                "ports": [upstream.port],
                "methods": ["GET", "POST"],
                "allow_private": True,
            },
            {"host": "127.0.0.1", "ports": [plain_upstream.port], "allow_private": True},
        ],
    )
    return airlock.create_task("e2e-agent", "e2e")


def test_task_create_prints_the_contract(task: dict[str, Any]) -> None:
    for key in ("task_id", "proxy_url", "ca_cert", "env"):
        assert task[key]
    assert task["proxy_url"].startswith(f"http://{task['task_id']}:")
    for var in (
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "SSL_CERT_FILE",
        "REQUESTS_CA_BUNDLE",
        "NODE_EXTRA_CA_CERTS",
        "GIT_SSL_CAINFO",
        "PIP_CERT",
    ):
        assert task["env"][var], var


def test_curl_allowed_https(task: dict[str, Any], upstream: HttpsUpstream) -> None:
    out = curl(task, "-H", "Proxy-Authorization: Basic bm90OnVzZWQ=", f"{upstream.url}/echo?q=1")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["path"] == "/echo"
    assert "proxy-authorization" not in body["headers"]  # never forwarded upstream


def test_curl_denied_host_gets_403_json(
    task: dict[str, Any], plain_upstream: HttpsUpstream
) -> None:
    # A port the profile lists (so the tunnel opens), for a host it does not allow there.
    out = curl(task, "-i", f"https://localhost:{plain_upstream.port}/x")
    assert out.returncode == 0, out.stderr
    _, _, rest = out.stdout.partition("\n\n")  # skip the CONNECT response
    head, _, body = rest.partition("\n\n")
    assert head.split()[1] == "403"
    assert "x-airlock-decision: deny" in head.lower()
    refusal = json.loads(body)
    assert refusal["reason"] == "destination_not_allowed"
    assert refusal["rule"] and refusal["request_id"] and refusal["error"]


def test_method_not_in_profile_is_denied(task: dict[str, Any], upstream: HttpsUpstream) -> None:
    out = curl(
        task, "-X", "DELETE", "-o", "/dev/null", "-w", "%{http_code}", f"{upstream.url}/echo"
    )
    assert out.stdout == "403"


def test_missing_credentials_get_407(
    task: dict[str, Any], airlock: AirlockInstance, upstream: HttpsUpstream
) -> None:
    env = client_env(task)
    out = subprocess.run(
        [
            "curl",
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_connect}",
            "-x",
            airlock.proxy_url,
            "--cacert",
            task["ca_cert"],
            f"{upstream.url}/echo",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.stdout == "407"
    plain = subprocess.run(
        ["curl", "-sS", "-i", "-x", airlock.proxy_url, "http://127.0.0.1:9/"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert " 407 " in plain.stdout.splitlines()[0]
    assert 'proxy-authenticate: basic realm="airlock"' in plain.stdout.lower()


def test_wrong_token_gets_407(
    task: dict[str, Any], airlock: AirlockInstance, upstream: HttpsUpstream
) -> None:
    bad = f"http://{task['task_id']}:{'x' * 43}@127.0.0.1:{airlock.proxy_port}"
    out = curl(
        {**task, "proxy_url": bad},
        "-o",
        "/dev/null",
        "-w",
        "%{http_connect}",
        f"{upstream.url}/echo",
    )
    assert out.stdout == "407"


def test_requests_and_httpx_through_proxy(
    task: dict[str, Any], upstream: HttpsUpstream, plain_upstream: HttpsUpstream
) -> None:
    proxies = {"https": task["proxy_url"], "http": task["proxy_url"]}
    with requests.Session() as s:
        s.trust_env = False
        r = s.post(
            f"{upstream.url}/echo", data=b"x" * 5000, proxies=proxies, verify=task["ca_cert"]
        )
        assert r.status_code == 200 and r.json()["body_length"] == 5000
        plain = s.get(f"{plain_upstream.ip_url}/echo", proxies=proxies)
        assert plain.status_code == 200
    with httpx.Client(proxy=task["proxy_url"], verify=task["ca_cert"], trust_env=False) as c:
        assert c.get(f"{upstream.url}/echo").status_code == 200


def test_http2_to_client(task: dict[str, Any], upstream: HttpsUpstream) -> None:
    out = curl(
        task,
        "--http2",
        "-o",
        "/dev/null",
        "-w",
        "%{http_version} %{http_code}",
        f"{upstream.url}/echo",
    )
    assert out.stdout == "2 200"


def test_sse_is_streamed_not_buffered(task: dict[str, Any], upstream: HttpsUpstream) -> None:
    arrivals: list[float] = []
    with httpx.Client(proxy=task["proxy_url"], verify=task["ca_cert"], trust_env=False) as c:
        with c.stream("GET", f"{upstream.url}/sse?n=5&interval=0.3") as resp:
            for line in resp.iter_lines():
                if line.startswith("data:"):
                    arrivals.append(time.monotonic())
    assert len(arrivals) == 5
    assert arrivals[-1] - arrivals[0] > 0.9  # events arrived as sent, not all at the end


def test_correlation_headers_are_recorded_and_stripped(
    task: dict[str, Any], upstream: HttpsUpstream, airlock: AirlockInstance, auditor_key: str
) -> None:
    out = curl(
        task,
        "-H",
        "X-Airlock-Session: conv-42",
        "-H",
        "X-Airlock-Workflow: run-7",
        f"{upstream.url}/echo?corr=1",
    )
    seen = json.loads(out.stdout)["headers"]
    assert "x-airlock-session" not in seen and "x-airlock-workflow" not in seen
    events = airlock.wait_events(
        auditor_key,
        lambda ev: any(e["query"] == "corr=1" for e in ev),
        task_id=task["task_id"],
    )
    event = next(e for e in events if e["query"] == "corr=1")
    assert (event["session"], event["workflow"]) == ("conv-42", "run-7")


def test_host_header_cannot_redirect_a_tunnel(
    task: dict[str, Any], upstream: HttpsUpstream
) -> None:
    out = curl(task, "-H", "Host: example.com", "-i", f"{upstream.url}/echo")
    assert " 403" in out.stdout and "mismatch" in out.stdout


def test_every_request_is_queryable_within_two_seconds(
    task: dict[str, Any],
    upstream: HttpsUpstream,
    plain_upstream: HttpsUpstream,
    airlock: AirlockInstance,
    auditor_key: str,
) -> None:
    marker = f"m{time.time_ns()}"
    ids = []
    for path in ("/echo", "/status/404"):
        out = curl(task, "-D", "-", "-o", "/dev/null", f"{upstream.url}{path}?{marker}=1")
        ids.append(
            next(
                line.split(":", 1)[1].strip()
                for line in out.stdout.splitlines()
                if line.lower().startswith("x-airlock-request-id")
            )
        )
    denied = curl(task, f"https://localhost:{plain_upstream.port}/?{marker}=1")
    ids.append(json.loads(denied.stdout)["request_id"])
    start = time.monotonic()
    events = airlock.wait_events(
        auditor_key,
        lambda ev: {e["request_id"] for e in ev} >= set(ids),
        timeout=2.0,
        task_id=task["task_id"],
        kind="http-request",
    )
    assert time.monotonic() - start <= 2.0
    by_id = {e["request_id"]: e for e in events}
    assert [by_id[i]["decision"] for i in ids] == ["allow", "allow", "deny"]
    assert [by_id[i]["status"] for i in ids] == [200, 404, 403]
    for i in ids:
        e = by_id[i]
        assert e["policy_revision"] and e["agent"] == "e2e-agent" and e["host"] == "localhost"
        assert e["event_id"] and e["ts"].endswith("Z") and e["method"] == "GET"


def test_killed_task_is_refused_even_on_an_open_tunnel(
    airlock: AirlockInstance, upstream: HttpsUpstream, auditor_key: str
) -> None:
    victim = airlock.create_task("victim", "e2e")
    with requests.Session() as session:  # one keep-alive tunnel across the kill
        session.trust_env = False
        session.proxies = {"https": victim["proxy_url"]}
        session.verify = victim["ca_cert"]
        assert session.get(f"{upstream.url}/echo").status_code == 200
        airlock.cli("task", "kill", victim["task_id"])
        time.sleep(0.5)  # identity cache in these tests: 0.2 s
        on_tunnel = session.get(f"{upstream.url}/echo?after=kill")
    assert on_tunnel.status_code == 403 and on_tunnel.json()["reason"] == "task_killed"
    out = curl(victim, "-o", "/dev/null", "-w", "%{http_connect}", f"{upstream.url}/echo")
    assert out.stdout == "403"  # and a new tunnel is refused at CONNECT
    events = airlock.wait_events(
        auditor_key,
        lambda ev: sum(e["kind"] == "task-refused" for e in ev) >= 2,
        task_id=victim["task_id"],
    )
    assert all("task_killed" in e["reasons"] for e in events if e["kind"] == "task-refused")


def test_expired_task_is_refused(airlock: AirlockInstance, upstream: HttpsUpstream) -> None:
    short = airlock.create_task("shortlived", "e2e", ttl="1s")
    time.sleep(1.5)
    out = curl(short, "-o", "/dev/null", "-w", "%{http_connect}", f"{upstream.url}/echo")
    assert out.stdout == "403"


def test_upstream_with_untrusted_certificate_fails_closed(
    airlock: AirlockInstance, tmp_path_factory: pytest.TempPathFactory, task: dict[str, Any]
) -> None:
    from tests.support.tls import make_ca

    rogue_ca = make_ca(tmp_path_factory.mktemp("rogue"), common_name="Rogue CA")
    with HttpsUpstream(tls=rogue_ca) as rogue:
        airlock.add_profile(
            "rogue", [{"host": "localhost", "ports": [rogue.port], "allow_private": True}]
        )
        t = airlock.create_task("rogue-agent", "rogue")
        out = curl(t, "-o", "/dev/null", "-w", "%{http_code}", f"{rogue.url}/echo")
        assert out.stdout == "502"
        assert rogue.requests == []


def test_proxy_authorization_basic_helper_is_what_clients_send(task: dict[str, Any]) -> None:
    user, _, rest = task["proxy_url"].removeprefix("http://").partition(":")
    token = rest.split("@")[0]
    assert base64.b64decode(base64.b64encode(f"{user}:{token}".encode())).decode().count(":") == 1
