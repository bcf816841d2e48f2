"""Tests for tests.support.upstream, using requests and httpx directly (no proxy)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
import requests

from tests.support.env import direct_env
from tests.support.tls import TestCA
from tests.support.upstream import HttpsUpstream, deterministic_bytes, sse_event


@pytest.fixture
def session(support_ca: TestCA) -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # never pick up proxy env / netrc
    s.verify = str(support_ca.cert_path)
    return s


@pytest.fixture
def client(support_ca: TestCA) -> Iterator[httpx.Client]:
    with httpx.Client(verify=support_ca.client_context(), trust_env=False, timeout=10) as c:
        yield c


def test_url_shape(https_upstream: HttpsUpstream, http_upstream: HttpsUpstream) -> None:
    assert https_upstream.url == f"https://localhost:{https_upstream.port}"
    assert https_upstream.ip_url == f"https://127.0.0.1:{https_upstream.port}"
    assert http_upstream.url.startswith("http://localhost:")


def test_echo_get_records_headers(https_upstream: HttpsUpstream, session: requests.Session) -> None:
    https_upstream.clear_requests()
    r = session.get(f"{https_upstream.url}/echo?a=1&b=x", headers={"X-Probe": "yes"})
    assert r.status_code == 200
    doc = r.json()
    assert doc["method"] == "GET" and doc["path"] == "/echo"
    assert doc["query"] == {"a": ["1"], "b": ["x"]}
    assert doc["headers"]["x-probe"] == "yes"
    assert doc["headers"]["host"] == f"localhost:{https_upstream.port}"
    ((method, path, headers),) = https_upstream.requests
    assert (method, path) == ("GET", "/echo?a=1&b=x")
    assert ("X-Probe", "yes") in headers


def test_echo_post_body(https_upstream: HttpsUpstream, client: httpx.Client) -> None:
    body = deterministic_bytes(100_000)
    for method in ("POST", "PUT"):
        r = client.request(method, f"{https_upstream.url}/echo", content=body)
        doc = r.json()
        assert doc["method"] == method
        assert doc["body_length"] == len(body)
        assert doc["body_sha256"] == hashlib.sha256(body).hexdigest()


def test_echo_chunked_post(https_upstream: HttpsUpstream, session: requests.Session) -> None:
    parts = [b"abc" * 1000, b"def" * 10, b"x"]
    r = session.post(f"{https_upstream.url}/echo", data=iter(parts))  # generator => chunked
    assert r.json()["headers"]["transfer-encoding"] == "chunked"
    assert r.json()["body_sha256"] == hashlib.sha256(b"".join(parts)).hexdigest()


def test_bytes_and_keepalive(https_upstream: HttpsUpstream, client: httpx.Client) -> None:
    ports = set()
    for n in (0, 1, 1000, 1_000_000):
        with client.stream("GET", f"{https_upstream.url}/bytes/{n}") as r:
            data = r.read()
            ports.add(r.extensions["network_stream"].get_extra_info("client_addr")[1])
        assert data == deterministic_bytes(n)
        assert r.headers["content-length"] == str(n)
    assert len(ports) == 1, "connection should have been reused (keep-alive)"


def test_status_and_redirect(https_upstream: HttpsUpstream, session: requests.Session) -> None:
    for code in (200, 204, 403, 404, 500, 503):
        assert session.get(f"{https_upstream.url}/status/{code}").status_code == code
    target = f"{https_upstream.url}/echo?from=redirect"
    r = session.get(f"{https_upstream.url}/redirect", params={"to": target}, allow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == target
    r = session.get(f"{https_upstream.url}/redirect", params={"to": target})
    assert r.json()["query"] == {"from": ["redirect"]}


def test_plain_http(http_upstream: HttpsUpstream) -> None:
    with httpx.Client(trust_env=False) as c:
        assert c.get(f"{http_upstream.url}/echo").json()["method"] == "GET"
    s = requests.Session()
    s.trust_env = False
    assert s.get(f"{http_upstream.ip_url}/bytes/10").content == deterministic_bytes(10)


def _assert_spaced(arrivals: list[float]) -> None:
    assert len(arrivals) == 5
    assert arrivals[-1] - arrivals[0] >= 0.5, f"events arrived bunched: {arrivals}"


@pytest.mark.parametrize("chunked", [False, True])
def test_sse_streams_requests(
    https_upstream: HttpsUpstream, session: requests.Session, chunked: bool
) -> None:
    url = f"{https_upstream.url}/sse" + ("?chunked=1" if chunked else "")
    arrivals, buf = [], b""
    with session.get(url, stream=True, timeout=10) as r:
        assert r.headers["content-type"] == "text/event-stream"
        assert "content-length" not in r.headers
        for piece in r.iter_content(chunk_size=1):
            buf += piece
            if buf.endswith(b"\n\n"):
                arrivals.append(time.monotonic())
    assert buf == b"".join(sse_event(i) for i in range(5))
    _assert_spaced(arrivals)


@pytest.mark.parametrize("chunked", [False, True])
def test_sse_streams_httpx(
    https_upstream: HttpsUpstream, client: httpx.Client, chunked: bool
) -> None:
    url = f"{https_upstream.url}/sse" + ("?chunked=1" if chunked else "")
    arrivals = []
    with client.stream("GET", url) as r:
        for line in r.iter_lines():
            if line.startswith("data:"):
                arrivals.append(time.monotonic())
    _assert_spaced(arrivals)


def test_tls_rejects_unknown_ca(https_upstream: HttpsUpstream, session: requests.Session) -> None:
    with httpx.Client(trust_env=False) as c:  # system trust store only
        with pytest.raises(httpx.ConnectError):
            c.get(f"{https_upstream.url}/echo")
    # the server survives a failed handshake
    assert session.get(f"{https_upstream.url}/status/200").status_code == 200


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_curl_direct(https_upstream: HttpsUpstream, support_ca: TestCA) -> None:
    base = ["curl", "-sS", "--fail", "--noproxy", "*", "--cacert", str(support_ca.cert_path)]
    out = subprocess.run(
        [*base, "-H", "X-Probe: curl", f"{https_upstream.url}/echo"],
        capture_output=True,
        timeout=20,
        env=direct_env(),
        check=True,
    )
    assert json.loads(out.stdout)["headers"]["x-probe"] == "curl"
    out = subprocess.run(
        [*base, "-N", f"{https_upstream.url}/sse?interval=0.05"],
        capture_output=True,
        timeout=20,
        env=direct_env(),
        check=True,
    )
    assert out.stdout == b"".join(sse_event(i) for i in range(5))
