"""Audit addon: one durable event per request, written to the real spool before the
client sees the answer; streamed responses are recorded at their headers."""

from __future__ import annotations

import json

from mitmproxy import http
from mitmproxy.test import tflow, tutils

from addons.audit import Audit
from addons.correlation import SESSION_HEADER, Correlation
from addons.redaction import Redaction
from addons.state import record, refuse
from gateway.egress.verdict import Verdict, refusal
from gateway.runtime import ProxyRuntime
from tests.addons.conftest import GATEWAY_ID, make_task, spooled


def allowed_flow(response: http.Response | None = None) -> http.HTTPFlow:
    flow = tflow.tflow(resp=response or True)
    rec = record(flow)
    rec.task = make_task()
    rec.verdict = Verdict(True, ("allowed",), ("profile/registries/allow/0",), "ok", "rev-3")
    rec.method, rec.host, rec.port, rec.path = "GET", "pypi.org", 443, "/simple/"
    return flow


def sse_response() -> http.Response:
    return tutils.tresp(headers=http.Headers(content_type="text/event-stream"), content=b"")


async def test_response_writes_one_http_request_event(runtime: ProxyRuntime) -> None:
    flow = allowed_flow()
    flow.request.headers[SESSION_HEADER] = "sess-1"
    Correlation().requestheaders(flow)
    audit = Audit(runtime)
    Redaction(runtime).responseheaders(flow)  # decides streaming
    await audit.responseheaders(flow)
    assert spooled(runtime) == []  # small, sized body: recorded at response
    await audit.response(flow)
    (event,) = spooled(runtime)
    assert event.kind == "http-request"
    assert event.code == "AL1000"
    assert event.request_id == record(flow).request_id
    assert flow.response is not None
    assert flow.response.headers["X-Airlock-Request-Id"] == event.request_id
    assert (event.tenant, event.agent, event.task_id) == ("acme", "claude-1", "task-1")
    assert (event.host, event.port, event.path) == ("pypi.org", 443, "/simple/")
    assert event.status == 200
    assert event.bytes_in == len(b"message")
    assert event.decision == "allow"
    assert event.rules == ("profile/registries/allow/0",)
    assert event.policy_revision == "rev-3"
    assert event.session == "sess-1"
    assert event.gateway_id == GATEWAY_ID
    assert flow.response.status_code == 200


async def test_refusal_is_recorded_as_deny(runtime: ProxyRuntime) -> None:
    flow = tflow.tflow()
    refuse(flow, refusal("host_mismatch", "Host header does not match"))
    audit = Audit(runtime)
    Redaction(runtime).responseheaders(flow)  # decides streaming
    await audit.responseheaders(flow)
    await audit.response(flow)
    (event,) = spooled(runtime)
    assert (event.decision, event.status) == ("deny", 403)
    assert event.reasons == ("host_mismatch",)


async def test_event_stream_is_recorded_at_headers(runtime: ProxyRuntime) -> None:
    flow = allowed_flow(sse_response())
    audit = Audit(runtime)
    Redaction(runtime).responseheaders(flow)  # decides streaming
    await audit.responseheaders(flow)
    assert flow.response is not None
    assert callable(flow.response.stream)
    (event,) = spooled(runtime)
    assert event.kind == "http-request"
    assert event.status == 200
    assert event.detail == {"streamed": "true"}
    stream = flow.response.stream
    assert callable(stream)
    assert stream(b"data: 1\n\n") == [b"data: 1\n\n"]
    stream(b"data: 22\n\n")
    await audit.response(flow)
    first, end = spooled(runtime)
    assert first == event
    assert end.kind == "http-stream-end"
    assert end.request_id == event.request_id
    assert end.bytes_in == len(b"data: 1\n\n") + len(b"data: 22\n\n")


async def test_unsized_body_is_streamed_but_204_is_not(runtime: ProxyRuntime) -> None:
    audit = Audit(runtime)
    unsized = allowed_flow(tutils.tresp(headers=http.Headers(), content=b""))
    Redaction(runtime).responseheaders(unsized)  # decides streaming
    await audit.responseheaders(unsized)
    assert unsized.response is not None and unsized.response.stream
    no_content = allowed_flow(tutils.tresp(status_code=204, headers=http.Headers(), content=b""))
    Redaction(runtime).responseheaders(no_content)  # decides streaming
    await audit.responseheaders(no_content)
    assert no_content.response is not None and not no_content.response.stream
    assert len(spooled(runtime)) == 1


async def test_large_sized_body_is_streamed(runtime: ProxyRuntime) -> None:
    size = runtime.settings.stream_bytes + 1
    big = allowed_flow(tutils.tresp(headers=http.Headers(content_length=str(size)), content=b""))
    Redaction(runtime).responseheaders(big)  # decides streaming
    await Audit(runtime).responseheaders(big)
    assert big.response is not None and big.response.stream


async def test_refused_response_is_never_streamed(runtime: ProxyRuntime) -> None:
    flow = allowed_flow(sse_response())
    assert flow.response is not None
    flow.response.headers["X-Airlock-Decision"] = "deny"
    Redaction(runtime).responseheaders(flow)  # decides streaming
    await Audit(runtime).responseheaders(flow)
    assert not flow.response.stream
    assert spooled(runtime) == []


async def test_upstream_error_is_recorded_as_502(runtime: ProxyRuntime) -> None:
    flow = allowed_flow()
    flow.response = None
    flow.error = tflow.terr("connection refused")
    await Audit(runtime).error(flow)
    (event,) = spooled(runtime)
    assert (event.kind, event.status) == ("http-request", 502)
    assert event.detail["error"] == "connection refused"


async def test_spool_over_its_limit_still_records_admitted_traffic(
    full_runtime: ProxyRuntime,
) -> None:
    flow = allowed_flow()
    audit = Audit(full_runtime)
    await audit.response(flow)
    assert audit.unrecorded == 0
    assert flow.response is not None
    assert flow.response.status_code == 200
    (event,) = spooled(full_runtime)
    assert event.request_id == record(flow).request_id


async def test_failed_spool_write_replaces_the_response_with_503(
    disk_full_runtime: ProxyRuntime,
) -> None:
    flow = allowed_flow()
    audit = Audit(disk_full_runtime)
    committed = disk_full_runtime.spool.events
    await audit.response(flow)
    assert audit.unrecorded == 1
    assert flow.response is not None
    assert flow.response.status_code == 503
    assert flow.response.headers["X-Airlock-Decision"] == "deny"
    assert json.loads(flow.response.content or b"")["reason"] == "audit_unavailable"
    assert disk_full_runtime.spool.events == committed


async def test_failed_spool_write_kills_a_stream(disk_full_runtime: ProxyRuntime) -> None:
    flow = allowed_flow(sse_response())
    audit = Audit(disk_full_runtime)
    Redaction(disk_full_runtime).responseheaders(flow)  # decides streaming
    await audit.responseheaders(flow)
    assert audit.unrecorded == 1
    assert flow.error is not None
    assert not flow.killable
