"""Redaction addon: a mitmproxy flow's headers, URL and bodies go through the real
SecretGuard / Redactor (from the ``runtime`` fixture); the verdict's modes decide
between redact, block and alert. Fake secrets are built at run time by the corpus.
"""

from __future__ import annotations

import gzip
import json
import random

import pytest
from mitmproxy import http
from mitmproxy.test import tflow, tutils

from addons.redaction import Redaction, is_streamed_upload, url_safe
from addons.state import record
from gateway.egress.secrets import StreamScan
from gateway.egress.verdict import Verdict
from gateway.runtime import ProxyRuntime
from tests.redaction.corpus import TOKENS

MIB = 1 << 20


def emitted(scan: object, chunk: bytes) -> bytes:
    """What the stream hook sends now: it returns a list of chunks (never b"")."""
    out = scan(chunk)  # type: ignore[operator]
    assert isinstance(out, list) and b"" not in out
    return b"".join(out)


def token(seed: int = 1, kind: str = "github_token") -> str:
    return TOKENS[kind](random.Random(f"addon:{kind}:{seed}"))


def verdict(outbound: str = "redact", inbound: str = "redact") -> Verdict:
    return Verdict(True, ("allowed",), ("profile/x/allow/0",), "ok", "rev-9", outbound, inbound)


def allowed_flow(
    outbound: str = "redact", inbound: str = "redact", response: http.Response | None = None
) -> http.HTTPFlow:
    flow = tflow.tflow(resp=response) if response is not None else tflow.tflow()
    record(flow).verdict = verdict(outbound, inbound)
    return flow


def refusal_body(flow: http.HTTPFlow) -> dict[str, object]:
    assert flow.response is not None
    assert flow.response.headers["X-Airlock-Decision"] == "deny"
    parsed: dict[str, object] = json.loads(flow.response.content or b"")
    return parsed


def text_response(body: bytes, **headers: str) -> http.Response:
    resp = tutils.tresp(headers=http.Headers(content_type="text/plain", **headers), content=b"")
    resp.raw_content = body
    if "content_length" not in headers:
        resp.headers["content-length"] = str(len(body))
    return resp


def set_body(request: http.Request, raw: bytes, content_type: str, encoding: str = "") -> None:
    request.headers["content-type"] = content_type
    if encoding:
        request.headers["content-encoding"] = encoding
    request.raw_content = raw
    request.headers["content-length"] = str(len(raw))


# URL and headers ------------------------------------------------------------------------


def test_url_safe_percent_encodes_marker_brackets() -> None:
    assert url_safe("a=[REDACTED:github_token:fp=0123abcd]&b=[x]") == (
        "a=%5BREDACTED:github_token:fp=0123abcd%5D&b=[x]"
    )


def test_is_streamed_upload() -> None:
    req = tutils.treq()
    assert not is_streamed_upload(req, 100)  # content-length 7
    req.headers["content-length"] = "101"
    assert is_streamed_upload(req, 100)
    del req.headers["content-length"]
    req.headers["transfer-encoding"] = "chunked"
    assert is_streamed_upload(req, 100)


def test_redact_mode_cleans_header_path_and_query(runtime: ProxyRuntime) -> None:
    in_path, in_query, in_header = token(1), token(2), token(3)
    flow = allowed_flow("redact")
    flow.request.path = f"/files/{in_path}/raw?page=2&key={in_query}"
    flow.request.headers["X-Debug"] = f"tok {in_header}"
    Redaction(runtime).requestheaders(flow)
    req = flow.request
    assert flow.response is None
    for secret in (in_path, in_query, in_header):
        assert secret not in req.path and secret not in str(req.headers)
    assert req.path.startswith("/files/%5BREDACTED:github_token:fp=")
    assert "/raw?page=2&key=%5BREDACTED:github_token:fp=" in req.path
    assert "[" not in req.path and "]" not in req.path
    assert req.headers["X-Debug"].startswith("tok [REDACTED:github_token:fp=")
    assert req.headers["header"] == "qvalue"  # other headers kept
    rec = record(flow)
    assert sorted(h.location for h in rec.secret_hits) == ["header:x-debug", "path", "query"]
    assert rec.secret_actions == ["redacted"] * 3
    assert not req.stream


def test_block_mode_refuses_with_403_naming_the_detector(runtime: ProxyRuntime) -> None:
    secret = token(4)
    flow = allowed_flow("block")
    flow.request.headers["X-Debug"] = secret
    Redaction(runtime).requestheaders(flow)
    assert flow.response is not None and flow.response.status_code == 403
    refusal = refusal_body(flow)
    assert refusal["reason"] == "secret_detected"
    assert refusal["rule"] == "airlock.secrets.github_token"
    assert "github_token" in str(refusal["message"])
    assert secret not in (flow.response.text or "")
    assert record(flow).secret_actions == ["blocked"]


def test_alert_mode_leaves_the_request_and_records(runtime: ProxyRuntime) -> None:
    secret = token(5)
    flow = allowed_flow("alert")
    flow.request.path = f"/p?key={secret}"
    flow.request.headers["X-Debug"] = secret
    Redaction(runtime).requestheaders(flow)
    assert flow.response is None
    assert flow.request.path == f"/p?key={secret}"
    assert flow.request.headers["X-Debug"] == secret
    rec = record(flow)
    assert sorted(h.location for h in rec.secret_hits) == ["header:x-debug", "query"]
    assert rec.secret_actions == ["alerted", "alerted"]


def test_denied_or_answered_flows_are_left_alone(runtime: ProxyRuntime) -> None:
    secret = token(6)
    flow = tflow.tflow()
    record(flow).verdict = Verdict(False, ("denied",), ("r",), "no", "rev")
    flow.request.headers["X-Debug"] = secret
    Redaction(runtime).requestheaders(flow)
    assert flow.request.headers["X-Debug"] == secret
    assert record(flow).secret_hits == []


# Request bodies --------------------------------------------------------------------------


def test_json_request_body_is_redacted_and_length_fixed(runtime: ProxyRuntime) -> None:
    secret = token(7)
    body = json.dumps({"note": "deploy", "token": secret}).encode()
    flow = allowed_flow("redact")
    set_body(flow.request, body, "application/json")
    addon = Redaction(runtime)
    addon.requestheaders(flow)
    addon.request(flow)
    new = flow.request.raw_content or b""
    assert secret.encode() not in new
    assert json.loads(new)["token"].startswith("[REDACTED:github_token:fp=")
    assert flow.request.headers["content-length"] == str(len(new)) != str(len(body))
    assert [h.location for h in record(flow).secret_hits] == ["body"]


def test_gzip_request_body_is_redacted_and_stays_gzip(runtime: ProxyRuntime) -> None:
    secret = token(8)
    raw = gzip.compress(f"export GITHUB_TOKEN={secret}\n".encode())
    flow = allowed_flow("redact")
    set_body(flow.request, raw, "text/plain", "gzip")
    addon = Redaction(runtime)
    addon.requestheaders(flow)
    addon.request(flow)
    new = flow.request.raw_content or b""
    assert flow.request.headers["content-encoding"] == "gzip"
    text = gzip.decompress(new)  # still valid gzip
    assert text.startswith(b"export GITHUB_TOKEN=[REDACTED:github_token:fp=")
    assert secret.encode() not in text
    assert flow.request.headers["content-length"] == str(len(new))


def test_block_mode_refuses_a_secret_in_the_body(runtime: ProxyRuntime) -> None:
    secret = token(9)
    flow = allowed_flow("block")
    set_body(flow.request, f"t={secret}".encode(), "application/x-www-form-urlencoded")
    addon = Redaction(runtime)
    addon.requestheaders(flow)
    assert flow.response is None  # headers were clean
    addon.request(flow)
    assert flow.response is not None and flow.response.status_code == 403
    assert refusal_body(flow)["reason"] == "secret_detected"
    assert secret not in (flow.response.text or "")


def gzip_bomb() -> bytes:
    gz = gzip.compress(bytes(2 * MIB))  # the runtime's scan limit is 1 MiB
    assert len(gz) < 10_000
    return gz


def test_too_large_body_is_refused_413(runtime: ProxyRuntime) -> None:
    flow = allowed_flow("redact")
    set_body(flow.request, gzip_bomb(), "text/plain", "gzip")
    addon = Redaction(runtime)
    addon.requestheaders(flow)
    addon.request(flow)
    assert flow.response is not None and flow.response.status_code == 413
    assert refusal_body(flow)["reason"] == "body_too_large"
    assert record(flow).unscannable.startswith("outbound:")


def test_too_large_body_passes_in_alert_mode(runtime: ProxyRuntime) -> None:
    bomb = gzip_bomb()
    flow = allowed_flow("alert")
    set_body(flow.request, bomb, "text/plain", "gzip")
    addon = Redaction(runtime)
    addon.requestheaders(flow)
    addon.request(flow)
    assert flow.response is None
    assert flow.request.raw_content == bomb
    assert record(flow).unscannable.startswith("outbound:")


def test_chunked_upload_is_streamed_through_a_scan_in_redact_mode(
    runtime: ProxyRuntime,
) -> None:
    for mode, apply in (("redact", True), ("alert", False)):
        flow = allowed_flow(mode)
        del flow.request.headers["content-length"]
        flow.request.headers["transfer-encoding"] = "chunked"
        Redaction(runtime).requestheaders(flow)
        scan = flow.request.stream
        assert isinstance(scan, StreamScan)
        assert (scan.direction, scan.apply, scan.framed) == ("outbound", apply, False)


def test_chunked_upload_is_buffered_in_block_mode(runtime: ProxyRuntime) -> None:
    flow = allowed_flow("block")
    del flow.request.headers["content-length"]
    flow.request.headers["transfer-encoding"] = "chunked"
    Redaction(runtime).requestheaders(flow)
    assert not flow.request.stream  # buffered, so it can still be refused whole


def test_streamed_upload_scan_redacts_and_records(runtime: ProxyRuntime) -> None:
    secret = token(10).encode()
    flow = allowed_flow("redact")
    del flow.request.headers["content-length"]
    flow.request.headers["transfer-encoding"] = "chunked"
    Redaction(runtime).requestheaders(flow)
    scan = flow.request.stream
    assert callable(scan)
    body = b"x=1\n" * 2000 + b"token=" + secret + b"\n" + b"y=2\n" * 2000
    cut = 8006 + len(secret) // 2
    out = emitted(scan, body[:cut]) + emitted(scan, body[cut:]) + emitted(scan, b"")
    assert secret not in out and b"[REDACTED:github_token:fp=" in out
    rec = record(flow)
    assert [(h.location, h.offset) for h in rec.secret_hits] == [("stream", 8006)]
    assert rec.secret_actions == ["redacted"]


# Responses ----------------------------------------------------------------------------


def test_response_body_is_redacted(runtime: ProxyRuntime) -> None:
    secret = token(11)
    flow = allowed_flow(inbound="redact", response=text_response(f"your token: {secret}".encode()))
    addon = Redaction(runtime)
    addon.responseheaders(flow)
    assert flow.response is not None and not flow.response.stream
    addon.response(flow)
    content = flow.response.content or b""
    assert content.startswith(b"your token: [REDACTED:github_token:fp=")
    assert secret.encode() not in content
    assert flow.response.headers["content-length"] == str(len(content))
    rec = record(flow)
    assert [(h.direction, h.location) for h in rec.secret_hits] == [("inbound", "body")]


def test_response_header_secret_in_redact_mode(runtime: ProxyRuntime) -> None:
    secret = token(12)
    flow = allowed_flow(inbound="redact", response=text_response(b"ok"))
    assert flow.response is not None
    flow.response.headers["X-Token"] = secret
    Redaction(runtime).responseheaders(flow)
    assert flow.response.headers["X-Token"].startswith("[REDACTED:github_token:fp=")
    assert record(flow).secret_actions == ["redacted"]


def test_response_header_secret_in_block_mode_is_refused_at_response(
    runtime: ProxyRuntime,
) -> None:
    secret = token(13)
    original = text_response(b"body")
    original.headers["X-Token"] = secret
    flow = allowed_flow(inbound="block", response=original)
    addon = Redaction(runtime)
    addon.responseheaders(flow)
    assert flow.response is original and original.status_code == 200  # not yet
    assert record(flow).secret_actions == ["blocked"]
    addon.response(flow)
    assert flow.response is not original
    assert flow.response is not None and flow.response.status_code == 403
    refusal = refusal_body(flow)
    assert refusal["reason"] == "secret_detected"
    assert "response" in str(refusal["message"])
    assert secret not in (flow.response.text or "") and secret not in str(flow.response.headers)


def test_response_body_secret_in_alert_mode_passes(runtime: ProxyRuntime) -> None:
    secret = token(14)
    body = f"key {secret}".encode()
    flow = allowed_flow(inbound="alert", response=text_response(body))
    addon = Redaction(runtime)
    addon.responseheaders(flow)
    addon.response(flow)
    assert flow.response is not None and flow.response.content == body
    assert record(flow).secret_actions == ["alerted"]


def test_our_own_refusals_are_not_rescanned(runtime: ProxyRuntime) -> None:
    secret = token(15)
    resp = text_response(f"deny {secret}".encode())
    resp.headers["X-Airlock-Decision"] = "deny"
    flow = allowed_flow(inbound="block", response=resp)
    addon = Redaction(runtime)
    addon.responseheaders(flow)
    addon.response(flow)
    assert flow.response is resp and secret.encode() in (resp.content or b"")
    assert record(flow).secret_hits == []


def test_binary_response_is_streamed_untouched(runtime: ProxyRuntime) -> None:
    body = f"binary {token(16)}".encode()
    resp = text_response(body, content_length=str(2 * MIB))
    resp.headers["content-type"] = "application/octet-stream"
    flow = allowed_flow(inbound="block", response=resp)
    addon = Redaction(runtime)
    addon.responseheaders(flow)
    assert resp.stream is True  # passes through, no scan callable
    addon.response(flow)
    assert flow.response is resp and resp.raw_content == body
    assert record(flow).secret_hits == []


def test_large_text_response_gets_a_byte_stream_scan(runtime: ProxyRuntime) -> None:
    resp = text_response(b"", content_length=str(2 * MIB), content_encoding="gzip")
    flow = allowed_flow(inbound="block", response=resp)
    Redaction(runtime).responseheaders(flow)
    scan = resp.stream
    assert isinstance(scan, StreamScan)
    assert (scan.direction, scan.framed, scan.apply) == ("inbound", False, True)
    assert scan.content_encoding == "gzip"
    # The stream goes on decoded: no Content-Encoding, no stale Content-Length.
    assert "content-encoding" not in resp.headers and "content-length" not in resp.headers


def test_sse_response_gets_a_framed_stream_scan(runtime: ProxyRuntime) -> None:
    resp = tutils.tresp(headers=http.Headers(content_type="text/event-stream"), content=b"")
    flow = allowed_flow(inbound="alert", response=resp)
    Redaction(runtime).responseheaders(flow)
    scan = resp.stream
    assert isinstance(scan, StreamScan)
    assert (scan.direction, scan.framed, scan.apply) == ("inbound", True, False)
    secret = token(17).encode()
    assert emitted(scan, b"data: " + secret + b"\n\n") == b"data: " + secret + b"\n\n"
    assert record(flow).secret_actions == ["alerted"]


@pytest.mark.parametrize("status", [204, 304])
def test_unsized_bodiless_responses_are_not_streamed(runtime: ProxyRuntime, status: int) -> None:
    resp = tutils.tresp(status_code=status, headers=http.Headers(), content=b"")
    flow = allowed_flow(response=resp)
    Redaction(runtime).responseheaders(flow)
    assert not resp.stream


def test_stream_callable_never_emits_an_empty_chunk_mid_stream(runtime: ProxyRuntime) -> None:
    flow = allowed_flow("redact")
    del flow.request.headers["content-length"]
    flow.request.headers["transfer-encoding"] = "chunked"
    Redaction(runtime).requestheaders(flow)
    scan = flow.request.stream
    assert callable(scan)
    chunks = scan(b"a small first chunk\n")  # held back: the redactor needs more context
    assert chunks == []  # nothing to send yet, and never b"" (that would end a chunked body)


def test_secret_in_the_url_of_a_refused_request_never_reaches_the_record(
    runtime: ProxyRuntime,
) -> None:
    from addons.state import refuse
    from gateway.egress.verdict import refusal

    flow = allowed_flow()
    secret = token(7)
    flow.request.path = f"/leak/{secret}?token={secret}"
    describe_flow = record(flow)
    describe_flow.path, describe_flow.query = f"/leak/{secret}", f"token={secret}"
    refuse(flow, refusal("destination_not_allowed", "no"))
    Redaction(runtime).requestheaders(flow)
    rec = record(flow)
    assert secret not in rec.path and secret not in rec.query
    assert rec.secret_hits and set(rec.secret_actions) == {"refused"}


async def test_websocket_messages_are_scanned_both_ways(runtime: ProxyRuntime) -> None:
    from mitmproxy import websocket

    flow = tflow.twebsocketflow()
    rec = record(flow)
    rec.verdict = verdict()
    secret = token(11)
    assert flow.websocket is not None
    flow.websocket.messages.append(
        websocket.WebSocketMessage(1, True, f'{{"key": "{secret}"}}'.encode())
    )
    await Redaction(runtime).websocket_message(flow)
    sent = flow.websocket.messages[-1]
    assert secret.encode() not in sent.content and b"[REDACTED:" in sent.content
    assert [h.location for h in rec.secret_hits] == ["websocket"]
    assert rec.secret_hits[0].direction == "outbound"


async def test_websocket_message_with_a_secret_is_dropped_in_block_mode(
    runtime: ProxyRuntime,
) -> None:
    from mitmproxy import websocket

    flow = tflow.twebsocketflow()
    record(flow).verdict = verdict(inbound="block")
    assert flow.websocket is not None
    message = websocket.WebSocketMessage(1, False, f"leak {token(12)}".encode())
    flow.websocket.messages.append(message)
    await Redaction(runtime).websocket_message(flow)
    assert message.dropped
