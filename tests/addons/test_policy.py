"""Policy addon: the request's real destination goes to the decider; refusals are JSON.

The resolver and decider are fakes (see conftest.py): only the flow translation is
tested here; the real OPA decisions are covered by tests/policy and tests/integration.
"""

from __future__ import annotations

import json
import secrets

from mitmproxy import http
from mitmproxy.flow import Error
from mitmproxy.test import tflow

from addons.identity import Identity
from addons.pinning import Pinning
from addons.policy import Policy
from addons.state import record
from gateway.egress.verdict import RequestFacts, Verdict
from gateway.runtime import ProxyRuntime
from tests.addons.conftest import FakeDecider, spooled


def decider(runtime: ProxyRuntime) -> FakeDecider:
    assert isinstance(runtime.decider, FakeDecider)
    return runtime.decider


def authorised_flow() -> http.HTTPFlow:
    flow = tflow.tflow()
    flow.request.headers["Proxy-Authorization"] = f"Basic {secrets.token_hex(16)}"
    return flow


async def run(runtime: ProxyRuntime, flow: http.HTTPFlow) -> Identity:
    identity = Identity(runtime)
    await identity.requestheaders(flow)
    await Policy(runtime, identity).requestheaders(flow)
    return identity


def body(flow: http.HTTPFlow) -> dict[str, object]:
    assert flow.response is not None
    parsed: dict[str, object] = json.loads(flow.response.content or b"")
    return parsed


async def test_no_credentials_stays_407(runtime: ProxyRuntime) -> None:
    flow = tflow.tflow()
    await run(runtime, flow)
    assert flow.response is not None
    assert flow.response.status_code == 407
    assert decider(runtime).calls == []


async def test_allow_leaves_the_flow_alone(runtime: ProxyRuntime) -> None:
    flow = authorised_flow()
    flow.request.host = "PyPI.org."
    flow.request.port = 443
    flow.request.scheme = "https"
    flow.request.method = "get"
    flow.client_conn.sni = None
    await run(runtime, flow)
    assert flow.response is None
    assert "Proxy-Authorization" not in flow.request.headers
    assert record(flow).verdict == decider(runtime).verdict
    ((task, facts),) = decider(runtime).calls
    assert task == record(flow).task
    assert facts == RequestFacts(
        kind="http", host="pypi.org", port=443, method="GET", scheme="https", path="/path"
    )


async def test_deny_answers_403_with_the_verdict(runtime: ProxyRuntime) -> None:
    verdict = Verdict(
        False,
        ("destination_not_allowed",),
        ("airlock.network.destination_not_allowed",),
        "Destination address:22 is not allowed.",
        "rev-7",
    )
    decider(runtime).verdict = verdict
    flow = authorised_flow()
    await run(runtime, flow)
    assert flow.response is not None
    assert flow.response.status_code == 403
    assert flow.response.headers["X-Airlock-Decision"] == "deny"
    b = body(flow)
    assert b["reason"] == "destination_not_allowed"
    assert b["rule"] == "airlock.network.destination_not_allowed"
    assert b["message"] == verdict.message
    assert b["policy_revision"] == "rev-7"
    assert b["request_id"] == record(flow).request_id
    assert record(flow).verdict == verdict


async def test_host_header_mismatch_is_refused(runtime: ProxyRuntime) -> None:
    flow = authorised_flow()
    flow.request.headers["Host"] = "elsewhere.example:22"
    await run(runtime, flow)
    assert flow.response is not None
    assert flow.response.status_code == 403
    assert body(flow)["reason"] == "host_mismatch"
    assert decider(runtime).calls == []


async def test_matching_host_header_with_port_is_fine(runtime: ProxyRuntime) -> None:
    flow = authorised_flow()
    flow.request.headers["Host"] = "ADDRESS:22"
    await run(runtime, flow)
    assert flow.response is None
    assert len(decider(runtime).calls) == 1


async def test_sni_mismatch_is_refused(runtime: ProxyRuntime) -> None:
    flow = authorised_flow()
    flow.client_conn.sni = "elsewhere.example"
    await run(runtime, flow)
    assert body(flow)["reason"] == "sni_mismatch"
    assert decider(runtime).calls == []


async def test_request_to_another_host_inside_a_tunnel_is_refused(runtime: ProxyRuntime) -> None:
    identity = Identity(runtime)
    connect = authorised_flow()
    await identity.http_connect(connect)
    inner = tflow.tflow()
    inner.client_conn = connect.client_conn
    inner.client_conn.sni = None
    inner.request.host = "elsewhere.example"
    await identity.requestheaders(inner)
    await Policy(runtime, identity).requestheaders(inner)
    assert body(inner)["reason"] == "destination_mismatch"
    assert decider(runtime).calls == []


async def test_flow_without_identity_is_refused(runtime: ProxyRuntime) -> None:
    flow = tflow.tflow()
    await Policy(runtime, Identity(runtime)).requestheaders(flow)
    assert flow.response is not None
    assert flow.response.status_code == 403
    assert body(flow)["reason"] == "unknown_identity"


async def test_full_spool_refuses_with_503(full_runtime: ProxyRuntime) -> None:
    flow = authorised_flow()
    await run(full_runtime, flow)
    assert flow.response is not None
    assert flow.response.status_code == 503
    assert body(flow)["reason"] == "audit_unavailable"
    assert body(flow)["retryable"] is True
    assert decider(full_runtime).calls == []


# Destinations that cannot be fooled ---------------------------------------------


def denied(reason: str) -> Verdict:
    return Verdict(False, (reason,), (f"airlock.network.{reason}",), f"{reason}!", "rev-8")


async def test_allowed_request_pins_the_checked_address(runtime: ProxyRuntime) -> None:
    identity, pinning = Identity(runtime), Pinning()
    flow = authorised_flow()
    flow.request.host, flow.request.port = "Example.COM.", 443
    flow.client_conn.sni = None
    await identity.requestheaders(flow)
    await Policy(runtime, identity, pinning).requestheaders(flow)
    assert flow.response is None
    assert pinning.pinned(flow.client_conn, ("Example.COM.", 443)) == "203.0.113.10"


async def test_allowed_name_without_addresses_is_refused_502(runtime: ProxyRuntime) -> None:
    decider(runtime).verdict = Verdict(True, ("allowed",), ("profile/x/allow/0",), "ok", "rev1")
    flow = authorised_flow()
    await run(runtime, flow)
    assert flow.response is not None and flow.response.status_code == 502
    assert body(flow)["reason"] == "destination_unresolved"
    assert body(flow)["policy_revision"] == "rev1"


async def test_obs_fold_is_refused_400_and_the_connection_closed(runtime: ProxyRuntime) -> None:
    flow = authorised_flow()
    flow.request.headers["X-Folded"] = "a\r\n b"
    await run(runtime, flow)
    assert flow.response is not None and flow.response.status_code == 400
    assert flow.response.headers["Connection"] == "close"
    assert body(flow)["reason"] == "malformed_request"
    assert decider(runtime).calls == []


async def test_framing_refused_by_mitmproxy_is_recorded(runtime: ProxyRuntime) -> None:
    flow = authorised_flow()
    flow.error = Error(
        "Received message with both transfer-encoding and content-length headers from client, "
        "refusing to prevent request smuggling attacks. Disable the ... option."
    )
    await run(runtime, flow)
    rec = record(flow)
    assert rec.verdict is not None and rec.verdict.reason == "malformed_request"
    assert rec.verdict.message.endswith("content-length headers from client")
    assert rec.status == 400
    assert decider(runtime).calls == []


async def test_host_that_names_no_host_is_refused(runtime: ProxyRuntime) -> None:
    flow = authorised_flow()
    flow.request.host = "1.2.3.4.5"
    flow.request.headers["Host"] = "1.2.3.4.5"
    await run(runtime, flow)
    assert body(flow)["reason"] == "invalid_host"


async def test_absolute_uri_to_another_host_inside_a_tunnel_is_refused(
    runtime: ProxyRuntime,
) -> None:
    identity = Identity(runtime)
    connect = authorised_flow()
    await identity.http_connect(connect)
    inner = tflow.tflow()
    inner.client_conn = connect.client_conn
    inner.client_conn.sni = None
    inner.request.authority = "evil.example"  # GET http://evil.example/ inside the tunnel
    await identity.requestheaders(inner)
    await Policy(runtime, identity).requestheaders(inner)
    assert body(inner)["reason"] == "destination_mismatch"
    assert decider(runtime).calls == []


async def test_connect_to_a_port_no_entry_lists_gets_no_tunnel(runtime: ProxyRuntime) -> None:
    decider(runtime).verdict = denied("port_not_allowed")
    identity = Identity(runtime)
    connect = authorised_flow()
    connect.request.method, connect.request.port = "CONNECT", 22
    await identity.http_connect(connect)
    await Policy(runtime, identity).http_connect(connect)
    assert connect.response is not None and connect.response.status_code == 403
    assert body(connect)["reason"] == "port_not_allowed"
    assert identity.tunnel_target(connect) is None
    ((_, facts),) = decider(runtime).calls
    assert (facts.kind, facts.port, facts.method) == ("connect", 22, "CONNECT")
    (event,) = [e for e in spooled(runtime) if e.kind == "http-request"]
    assert (event.method, event.port, event.status, event.decision) == ("CONNECT", 22, 403, "deny")
    assert event.reasons == ("port_not_allowed",) and event.task_id == "task-1"


async def test_other_connect_denials_are_given_inside_the_tunnel(runtime: ProxyRuntime) -> None:
    decider(runtime).verdict = denied("destination_not_allowed")
    identity = Identity(runtime)
    connect = authorised_flow()
    connect.request.method = "CONNECT"
    await identity.http_connect(connect)
    await Policy(runtime, identity).http_connect(connect)
    assert connect.response is None  # the request inside gets the readable 403
    assert identity.tunnel_target(connect) is not None
