"""Escape attempts against a real ``airlock up``: each must be refused and audited.

Every attempt is made with real clients (curl, websockets, h2) or byte-exact raw
sockets through the real proxy, decided by the real OPA, and looked up afterwards
through the query API by its request id. The proxy resolves names with a loopback
DNS server this module controls (tests/support/adversary.py describes the world
and the profile). Control cases at the end must pass.
"""

from __future__ import annotations

import ssl
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import adversary as world
from tests.support.adversary import Adversary
from tests.support.airlock import client_env
from tests.support.rawproxy import Reply, parse_reply
from tests.support.tls import TestCA
from tests.support.upstream import HttpsUpstream

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def adv(
    tmp_path_factory: pytest.TempPathFactory,
    test_ca: TestCA,
    upstream: HttpsUpstream,
    plain_upstream: HttpsUpstream,
) -> Iterator[Adversary]:
    adversary, running = world.start(
        tmp_path_factory.mktemp("adversarial"), test_ca, upstream, plain_upstream
    )
    try:
        yield adversary
    finally:
        adversary.proxy.close()
        for part in running:
            part.stop()


def curl_reply(adv: Adversary, url: str, *args: str) -> Reply:
    """What curl finally got (after any CONNECT or redirect it followed)."""
    with tempfile.TemporaryDirectory() as tmp:
        headers, body = Path(tmp) / "headers", Path(tmp) / "body"
        subprocess.run(
            ["curl", "-sS", "--max-time", "20", "-x", adv.task["proxy_url"], "--cacert"]
            + [adv.task["ca_cert"], "-D", str(headers), "-o", str(body), *args, url],
            env=client_env(adv.task),
            timeout=30,
            check=False,
        )
        blocks = headers.read_bytes().strip().split(b"\r\n\r\n")
        return parse_reply(blocks[-1] + b"\r\n\r\n" + body.read_bytes())


def plain_get(
    host: str, port: int | None = None, path: str = "/echo"
) -> Callable[[Adversary], Reply]:
    authority = f"{host}:{port}" if port else host

    def attempt(adv: Adversary) -> Reply:
        return adv.proxy.plain(f"GET http://{authority}{path} HTTP/1.1\r\nHost: {authority}")

    return attempt


@dataclass(frozen=True)
class Attempt:
    make: Callable[[Adversary], Reply]
    reason: str
    status: int = 403


ATTEMPTS: dict[str, Attempt] = {
    # Domain fronting: CONNECT target, SNI, request target and Host must agree.
    "sni-differs-from-tunnel": Attempt(
        lambda a: a.proxy.https(
            "localhost",
            a.tls_port,
            f"GET /echo HTTP/1.1\r\nHost: localhost:{a.tls_port}",
            "evil.example",
        ),
        "sni_mismatch",
    ),
    "host-header-differs-from-tunnel": Attempt(
        lambda a: a.proxy.https(
            "localhost", a.tls_port, "GET /echo HTTP/1.1\r\nHost: evil.example", "localhost"
        ),
        "host_mismatch",
    ),
    "connect-target-differs-from-sni-and-host": Attempt(
        lambda a: a.proxy.https(
            "evil.example",
            a.tls_port,
            f"GET /echo HTTP/1.1\r\nHost: localhost:{a.tls_port}",
            "localhost",
        ),
        "sni_mismatch",
    ),
    "absolute-uri-inside-tunnel": Attempt(
        lambda a: a.proxy.https(
            "localhost",
            a.tls_port,
            f"GET https://evil.example/echo HTTP/1.1\r\nHost: localhost:{a.tls_port}",
            "localhost",
        ),
        "destination_mismatch",
    ),
    "absolute-uri-differs-from-host": Attempt(
        lambda a: a.proxy.plain(
            f"GET http://127.0.0.1:{a.plain_port}/echo HTTP/1.1\r\nHost: evil.example"
        ),
        "host_mismatch",
    ),
    "userinfo-in-host-header": Attempt(
        lambda a: a.proxy.plain(
            f"GET http://127.0.0.1:{a.plain_port}/echo HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{a.plain_port}@evil.example"
        ),
        "host_mismatch",
    ),
    "userinfo-url-allowed-at-evil": Attempt(
        lambda a: curl_reply(a, f"https://localhost:{a.tls_port}@evil.example:{a.tls_port}/echo"),
        "destination_not_allowed",
    ),
    "second-host-header": Attempt(
        lambda a: a.proxy.plain(
            f"GET http://127.0.0.1:{a.plain_port}/echo HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{a.plain_port}\r\nHost: evil.example"
        ),
        "malformed_request",
        400,
    ),
    "obs-fold-header": Attempt(
        lambda a: a.proxy.plain(
            f"GET http://127.0.0.1:{a.plain_port}/echo HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{a.plain_port}\r\nX-Folded: a\r\n b"
        ),
        "malformed_request",
        400,
    ),
    # IP literals in every encoding, aimed at loopback and the metadata service.
    **{
        f"loopback-as-{label}": Attempt(plain_get(host), "private_destination")
        for label, host in {
            "decimal": "2130706433",
            "hex": "0x7f000001",
            "octal": "017700000001",
            "octal-part": "0177.0.0.1",
            "short": "127.1",
            "short-hex": "0x7f.1",
            "trailing-dot": "127.0.0.1.",
            "ipv4-mapped": "[::ffff:127.0.0.1]",
            "ipv4-mapped-hex": "[::ffff:7f00:1]",
            "nat64": "[64:ff9b::7f00:1]",
            "6to4": "[2002:7f00:1::]",
            "ipv4-compatible": "[::7f00:1]",
        }.items()
    },
    **{
        f"metadata-as-{label}": Attempt(
            plain_get(host, path="/latest/meta-data/"), "private_destination"
        )
        for label, host in {
            "dotted": "169.254.169.254",
            "decimal": "2852039166",
            "hex": "0xa9fea9fe",
            "octal-and-short": "0251.254.43518",
            "nat64": "[64:ff9b::a9fe:a9fe]",
        }.items()
    },
    "loopback-as-decimal-connect": Attempt(
        lambda a: a.proxy.https(
            "2130706433", a.tls_port, f"GET /echo HTTP/1.1\r\nHost: 2130706433:{a.tls_port}", None
        ),
        "private_destination",
    ),
    "numeric-but-not-ipv4": Attempt(plain_get("1.2.3.4.5"), "invalid_host", 400),
    "ipv4-part-out-of-range": Attempt(plain_get("256.1.1.1"), "invalid_host", 400),
    # Names: resolved once by Airlock, every address checked.
    "name-resolving-to-loopback": Attempt(
        lambda a: plain_get("loopback.rebind.test", a.plain_port)(a), "private_destination"
    ),
    "name-with-public-and-loopback-addresses": Attempt(
        lambda a: plain_get("mixed.rebind.test", a.plain_port)(a), "private_destination"
    ),
    "name-resolving-to-metadata": Attempt(
        lambda a: plain_get("metadata.rebind.test", a.plain_port)(a), "private_destination"
    ),
    "name-resolving-to-nat64-metadata": Attempt(
        lambda a: plain_get("nat64.rebind.test", a.plain_port)(a), "private_destination"
    ),
    "allowed-name-that-does-not-resolve": Attempt(
        lambda a: plain_get("gone.rebind.test", a.plain_port)(a), "destination_unresolved", 502
    ),
    # Ports: only what the profile lists.
    "connect-to-unlisted-port": Attempt(
        lambda a: a.proxy.tunnel("localhost", 22)[0], "port_not_allowed"
    ),
    "plain-http-to-unlisted-port": Attempt(plain_get("127.0.0.1", 22), "port_not_allowed"),
}


@pytest.mark.parametrize("name", list(ATTEMPTS))
def test_escape_attempt_is_refused_and_audited(adv: Adversary, name: str) -> None:
    attempt = ATTEMPTS[name]
    reply = attempt.make(adv)
    assert reply.status == attempt.status, reply.raw[:500]
    assert reply.denied, reply.raw[:500]
    body = reply.json()
    assert body["error"] == "request denied by Airlock"
    assert body["reason"] == attempt.reason, body
    assert body["rule"] and body["request_id"] and body["message"]
    event = adv.event(body["request_id"])
    assert event["decision"] == "deny" and event["reasons"][0] == attempt.reason
    assert event["status"] == attempt.status and event["task_id"] == adv.task["task_id"]


def test_ip_tricks_are_audited_under_the_canonical_address(adv: Adversary) -> None:
    body = plain_get("0x7f.1")(adv).json()
    event = adv.event(body["request_id"])
    assert event["host"] == "127.0.0.1" and event["detail"]["requested_host"] == "0x7f.1"


def test_http2_stream_to_a_second_authority_is_refused(adv: Adversary) -> None:
    first, second, fronted = adv.proxy.h2(
        "localhost",
        adv.tls_port,
        [
            f"localhost:{adv.tls_port}",
            f"127.0.0.1:{adv.plain_port}",
            f"evil.example:{adv.tls_port}",
        ],
    )
    assert first.status == 200  # control: the connection's own authority
    for refused in (second, fronted):
        assert refused.status == 403 and refused.headers["x-airlock-decision"] == "deny"
        body = refused.json()
        assert body["reason"] == "destination_mismatch"
        assert adv.event(body["request_id"])["reasons"] == ["destination_mismatch"]


def test_websocket_to_a_disallowed_host_is_refused(adv: Adversary) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    with pytest.raises(InvalidStatus) as refused:
        connect(
            f"wss://evil.example:{adv.ws.port}/socket",
            proxy=adv.task["proxy_url"],
            ssl=_client_tls(adv),
            open_timeout=10,
        )
    response = refused.value.response
    assert response.status_code == 403 and response.headers["X-Airlock-Decision"] == "deny"
    body = Reply(403, {}, response.body or b"").json()
    assert body["reason"] == "destination_not_allowed"
    assert adv.event(body["request_id"])["method"] == "GET"
    assert "/socket" not in adv.ws.paths


def test_redirect_to_a_disallowed_host_is_not_followed(adv: Adversary) -> None:
    target = f"https://evil.example:{adv.tls_port}/echo"
    url = f"https://localhost:{adv.tls_port}/redirect?to={target}"
    hop = curl_reply(adv, url)
    assert hop.status == 302 and hop.headers["location"] == target  # passed on, not followed
    followed = curl_reply(adv, url, "-L")
    assert followed.status == 403 and followed.json()["reason"] == "destination_not_allowed"
    event = adv.event(followed.json()["request_id"])
    assert event["host"] == "evil.example" and event["decision"] == "deny"


def test_opaque_tunnel_is_refused_before_any_byte_leaves(adv: Adversary) -> None:
    before = len(adv.echo.received)
    reply, sock = adv.proxy.tunnel("127.0.0.1", adv.echo.address[1])  # no raw_tcp entry
    assert reply.status == 200  # the tunnel opens; what it carries is decided
    sock.sendall(b"\x00\x00\x00\x08\x04\xd2\x16\x2f")  # a PostgreSQL SSLRequest
    sock.settimeout(10)
    assert sock.recv(100) == b""  # closed
    assert len(adv.echo.received) == before  # the server was never even connected to
    events = adv.airlock.wait_events(
        adv.key,
        lambda ev: any(e["port"] == adv.echo.address[1] and e["host"] == "127.0.0.1" for e in ev),
        task_id=adv.task["task_id"],
        kind="tunnel-refused",
    )
    event = next(e for e in events if e["host"] == "127.0.0.1")
    assert event["reasons"] == ["opaque_tunnel"] and event["decision"] == "deny"
    assert event["rules"] == ["airlock.network.opaque_tunnel"]


SMUGGLING = {
    "cl-and-te": "Content-Length: 5\r\nTransfer-Encoding: chunked",
    "te-and-cl": "Transfer-Encoding: chunked\r\nContent-Length: 5",
    "two-content-lengths": "Content-Length: 5\r\nContent-Length: 35",
    "te-chunked-identity": "Transfer-Encoding: chunked, identity",
    "te-not-chunked": "Transfer-Encoding: xchunked",
    "te-space-before-colon": "Transfer-Encoding : chunked\r\nContent-Length: 5",
}
SMUGGLED = b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@pytest.mark.parametrize("name", list(SMUGGLING))
@pytest.mark.parametrize("via", ["plain", "tunnel"])
def test_request_smuggling_is_rejected(adv: Adversary, name: str, via: str) -> None:
    marker = f"/echo?smuggle={via}-{name}"
    head = f"POST {{}}{marker} HTTP/1.1\r\nHost: {{}}\r\n{SMUGGLING[name]}"
    if via == "plain":
        authority = f"127.0.0.1:{adv.plain_port}"
        reply = adv.proxy.plain(head.format(f"http://{authority}", authority), SMUGGLED)
        host, port = "127.0.0.1", adv.plain_port
    else:
        authority = f"localhost:{adv.tls_port}"
        reply = adv.proxy.https(
            "localhost", adv.tls_port, head.format("", authority), "localhost", SMUGGLED
        )
        host, port = "localhost", adv.tls_port
    assert reply.status == 400, reply.raw[:300]
    seen = [r.path for r in (*adv.plain.requests, *adv.upstream.requests)]
    assert not any(marker in p or "smuggled" in p for p in seen)
    query = f"smuggle={via}-{name}"
    events = adv.airlock.wait_events(
        adv.key, lambda ev: any(e["query"] == query for e in ev), task_id=adv.task["task_id"]
    )
    event = next(e for e in events if e["query"] == query)
    assert event["reasons"] == ["malformed_request"] and event["decision"] == "deny"
    assert (event["status"], event["host"], event["port"]) == (400, host, port)


# Control cases: ordinary traffic through the same proxy and profile must pass. ----


def test_control_https_request_passes(adv: Adversary) -> None:
    assert curl_reply(adv, f"https://localhost:{adv.tls_port}/echo").status == 200


def test_control_case_and_trailing_dot_are_the_same_host(adv: Adversary) -> None:
    assert curl_reply(adv, f"https://LOCALHOST.:{adv.tls_port}/echo").status == 200


def test_control_numeric_form_of_an_allowed_address_passes(adv: Adversary) -> None:
    reply = plain_get("0x7f.1", adv.plain_port)(adv)
    assert reply.status == 200 and reply.json()["path"] == "/echo"


def test_control_valid_chunked_upload_passes(adv: Adversary) -> None:
    authority = f"127.0.0.1:{adv.plain_port}"
    reply = adv.proxy.plain(
        f"POST http://{authority}/echo HTTP/1.1\r\nHost: {authority}\r\nTransfer-Encoding: chunked",
        b"5\r\nhello\r\n0\r\n\r\n",
    )
    assert reply.status == 200 and reply.json()["body_length"] == 5


def test_control_connection_goes_to_the_checked_address(adv: Adversary) -> None:
    """pinned.test resolves to 127.0.0.2, then to 127.0.0.1: the request reaches the
    server on the checked address, DNS is asked once, and 127.0.0.1 sees nothing."""
    reply = plain_get("pinned.test", adv.victim.address[1], "/who")(adv)
    assert reply.status == 200 and reply.body == b"checked"
    assert adv.victim.received == []
    assert [q for q in adv.dns.queries if q == ("pinned.test", "A")] == [("pinned.test", "A")]


def test_control_websocket_messages_are_each_audited(adv: Adversary) -> None:
    from websockets.sync.client import connect

    with connect(
        f"wss://localhost:{adv.ws.port}/chat",
        proxy=adv.task["proxy_url"],
        ssl=_client_tls(adv),
        additional_headers={"X-Airlock-Session": "ws-control"},
    ) as ws:
        for text in ("hello", "world!"):
            ws.send(text)
            assert ws.recv(timeout=10) == text
    events = adv.airlock.wait_events(
        adv.key,
        lambda ev: sum(e["session"] == "ws-control" for e in ev) >= 4,
        task_id=adv.task["task_id"],
        kind="websocket-message",
    )
    mine = sorted(
        (e for e in events if e["session"] == "ws-control"), key=lambda e: int(e["detail"]["seq"])
    )
    assert [(e["detail"]["direction"], e["detail"]["size"]) for e in mine] == [
        ("outbound", "5"),
        ("inbound", "5"),
        ("outbound", "6"),
        ("inbound", "6"),
    ]
    assert {e["request_id"] for e in mine} == {mine[0]["request_id"]}


def test_control_raw_tcp_allowed_by_profile_is_audited_with_byte_counts(adv: Adversary) -> None:
    reply, sock = adv.proxy.tunnel("localhost", adv.echo.address[1])
    assert reply.status == 200
    payload = b"\x00\x00\x00\x08\x04\xd2\x16\x2f" * 4
    sock.sendall(payload)
    sock.settimeout(10)
    echoed = b""
    while len(echoed) < len(payload):
        echoed += sock.recv(100)
    assert echoed == payload
    sock.close()
    events = adv.airlock.wait_events(
        adv.key,
        lambda ev: any(e["kind"] == "tunnel-closed" for e in ev),
        task_id=adv.task["task_id"],
        host="localhost",
    )
    closed = next(e for e in events if e["kind"] == "tunnel-closed")
    opened = next(e for e in events if e["kind"] == "tunnel-opened")
    assert opened["request_id"] == closed["request_id"] and opened["decision"] == "allow"
    assert (closed["bytes_out"], closed["bytes_in"]) == (len(payload), len(payload))
    assert closed["detail"]["address"] == "127.0.0.1"


def _client_tls(adv: Adversary) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=adv.task["ca_cert"])
