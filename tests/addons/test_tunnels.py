"""Tunnels addon: opaque tunnels are refused unless policy allows raw TCP; allowed ones
are pinned and recorded when they open and close. The decider is a fake (conftest.py)."""

from __future__ import annotations

import pytest
from mitmproxy import tcp
from mitmproxy.proxy import mode_specs
from mitmproxy.test import tflow

from addons.identity import Identity
from addons.pinning import Pinning
from addons.tunnels import Tunnels
from gateway.egress.verdict import Verdict
from gateway.errors import SpoolError
from gateway.runtime import ProxyRuntime
from tests.addons.conftest import FakeDecider, FakeResolver, make_task, spooled
from tests.addons.test_policy import authorised_flow

OPAQUE_DENIED = Verdict(
    False, ("opaque_tunnel",), ("airlock.network.opaque_tunnel",), "no raw_tcp", "rev-2"
)
RAW_ALLOWED = Verdict(
    True, ("allowed",), ("profile/p/allow/3",), "ok", "rev-2", addresses=("203.0.113.5",)
)


async def tunnel_flow(runtime: ProxyRuntime, identity: Identity) -> tcp.TCPFlow:
    connect = authorised_flow()
    connect.request.method, connect.request.host, connect.request.port = "CONNECT", "db.test", 5432
    await identity.http_connect(connect)
    flow = tflow.ttcpflow()
    flow.client_conn = connect.client_conn
    flow.server_conn.address = ("db.test", 5432)
    flow.server_conn.timestamp_start = None  # lazy: not connected yet
    flow.messages.clear()
    return flow


def events(runtime: ProxyRuntime, kind: str) -> list:  # type: ignore[type-arg]
    return [e for e in spooled(runtime) if e.kind == kind]


async def test_opaque_tunnel_without_a_task_is_refused_before_connecting(
    runtime: ProxyRuntime,
) -> None:
    flow = tflow.ttcpflow()
    await Tunnels(runtime).tcp_start(flow)
    assert flow.server_conn.error and "opaque_tunnel" in flow.server_conn.error
    (event,) = events(runtime, "tunnel-refused")
    assert event.reasons == ("opaque_tunnel",) and event.rules == ("airlock.gateway.opaque_tunnel",)
    assert (event.host, event.port, event.detail["transport"]) == ("address", 22, "tcp")


async def test_policy_decides_an_opaque_tunnel_as_kind_tcp(runtime: ProxyRuntime) -> None:
    assert isinstance(runtime.decider, FakeDecider)
    runtime.decider.verdict = OPAQUE_DENIED
    identity = Identity(runtime)
    flow = await tunnel_flow(runtime, identity)
    await Tunnels(runtime, identity).tcp_start(flow)
    ((_, facts),) = runtime.decider.calls
    assert (facts.kind, facts.host, facts.port) == ("tcp", "db.test", 5432)
    assert flow.server_conn.error
    (event,) = events(runtime, "tunnel-refused")
    assert event.reasons == ("opaque_tunnel",) and event.rules == ("airlock.network.opaque_tunnel",)
    assert event.task_id == "task-1" and event.policy_revision == "rev-2"


async def test_raw_tcp_tunnel_is_pinned_and_recorded_with_byte_counts(
    runtime: ProxyRuntime,
) -> None:
    assert isinstance(runtime.decider, FakeDecider)
    runtime.decider.verdict = RAW_ALLOWED
    identity, pinning = Identity(runtime), Pinning()
    flow = await tunnel_flow(runtime, identity)
    tunnels = Tunnels(runtime, identity, pinning)
    await tunnels.tcp_start(flow)
    assert flow.server_conn.error is None
    assert pinning.pinned(flow.client_conn, ("db.test", 5432)) == "203.0.113.5"
    for from_client, data in ((True, b"\x00\x00\x00\x08ping"), (False, b"pong" * 10)):
        flow.messages.append(tcp.TCPMessage(from_client, data))
        tunnels.tcp_message(flow)
    assert flow.messages == []  # counted, not kept
    await tunnels.tcp_end(flow)
    (opened,) = events(runtime, "tunnel-opened")
    (closed,) = events(runtime, "tunnel-closed")
    assert opened.request_id == closed.request_id and opened.decision == "allow"
    assert (closed.bytes_out, closed.bytes_in) == (8, 40)
    assert closed.detail["address"] == "203.0.113.5"
    await tunnels.tcp_error(flow)  # a second end never records twice
    assert len(events(runtime, "tunnel-closed")) == 1


async def test_killed_task_gets_no_tunnel(runtime: ProxyRuntime) -> None:
    assert isinstance(runtime.identity, FakeResolver)
    identity = Identity(runtime)
    flow = await tunnel_flow(runtime, identity)
    runtime.identity.task = make_task("killed")
    await Tunnels(runtime, identity).tcp_start(flow)
    assert flow.server_conn.error
    (event,) = events(runtime, "tunnel-refused")
    assert event.reasons == ("task_killed",)


async def test_unrecordable_tunnel_is_not_opened(
    runtime: ProxyRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(runtime.decider, FakeDecider)
    runtime.decider.verdict = RAW_ALLOWED
    identity = Identity(runtime)
    flow = await tunnel_flow(runtime, identity)

    async def refuse(event: object) -> None:
        raise SpoolError("spool full")

    monkeypatch.setattr(runtime.spool, "append", refuse)
    await Tunnels(runtime, identity).tcp_start(flow)
    assert flow.server_conn.error and "audit" in flow.server_conn.error


async def test_udp_flows_are_refused(runtime: ProxyRuntime) -> None:
    flow = tflow.tudpflow()
    await Tunnels(runtime).udp_start(flow)
    assert flow.server_conn.error
    (event,) = events(runtime, "tunnel-refused")
    assert event.detail["transport"] == "udp"


async def test_dns_inside_a_tunnel_is_refused_but_the_dns_listener_is_not(
    runtime: ProxyRuntime,
) -> None:
    listener = tflow.tdnsflow()
    await Tunnels(runtime).dns_request(listener)
    assert listener.error is None
    in_tunnel = tflow.tdnsflow()
    in_tunnel.client_conn.proxy_mode = mode_specs.ProxyMode.parse("regular")
    await Tunnels(runtime).dns_request(in_tunnel)
    assert in_tunnel.error is not None  # the DNS layer answers SERVFAIL, asks nobody
    (event,) = events(runtime, "tunnel-refused")
    assert event.detail["transport"] == "dns"
