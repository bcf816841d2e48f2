"""Pinning addon: mitmproxy connects to the address policy checked, never to a new lookup."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from mitmproxy import connection
from mitmproxy.connection import ConnectionState
from mitmproxy.proxy.server_hooks import ServerConnectionHookData
from mitmproxy.test import tflow

from addons.identity import Identity
from addons.pinning import Pinning
from addons.policy import Policy
from gateway.egress.destination import Resolver
from gateway.egress.verdict import Decider
from gateway.policy.client import Decision
from gateway.runtime import ProxyRuntime
from tests.addons.test_policy import authorised_flow
from tests.egress.test_destination import ChangingLookup


def hook(client: connection.Client, host: str, port: int) -> ServerConnectionHookData:
    return ServerConnectionHookData(server=connection.Server(address=(host, port)), client=client)


def test_connect_goes_to_the_pinned_address_and_is_reused_by_name() -> None:
    pinning, client = Pinning(), tflow.tclient_conn()
    pinning.pin(client, ("api.example", 443), "203.0.113.7")
    data = hook(client, "api.example", 443)
    pinning.server_connect(data)
    assert data.server.address == ("203.0.113.7", 443) and data.server.error is None
    data.server.state = ConnectionState.OPEN  # mitmproxy would now refuse an address change
    data.server.peername = ("203.0.113.7", 443)
    pinning.server_connected(data)
    assert data.server.address == ("api.example", 443)  # what mitmproxy matches for reuse
    assert data.server.peername == ("203.0.113.7", 443)  # where the bytes really went


def test_failed_connect_gets_its_name_back() -> None:
    pinning, client = Pinning(), tflow.tclient_conn()
    pinning.pin(client, ("api.example", 443), "203.0.113.7")
    data = hook(client, "api.example", 443)
    pinning.server_connect(data)
    pinning.server_connect_error(data)
    assert data.server.address == ("api.example", 443)


def test_a_name_nobody_checked_is_never_connected_to() -> None:
    pinning, client = Pinning(), tflow.tclient_conn()
    pinning.pin(client, ("api.example", 443), "203.0.113.7")
    for other in (
        hook(client, "api.example", 8443),
        hook(tflow.tclient_conn(), "api.example", 443),
    ):
        pinning.server_connect(other)
        assert other.server.error and "no checked address" in other.server.error


def test_an_ip_literal_needs_no_pin() -> None:
    data = hook(tflow.tclient_conn(), "203.0.113.9", 80)
    Pinning().server_connect(data)
    assert data.server.address == ("203.0.113.9", 80) and data.server.error is None


def test_pins_end_with_the_client_connection() -> None:
    pinning, client = Pinning(), tflow.tclient_conn()
    pinning.pin(client, ("api.example", 443), "203.0.113.7")
    pinning.client_disconnected(client)
    assert pinning.pinned(client, ("api.example", 443)) is None


class PublicOnlyPolicy:
    """Stands in for OPA (tests/integration runs the real one): allows a destination
    whose every address is public, the rule a rebinding attack wants to get past."""

    def __init__(self) -> None:
        self.inputs: list[dict[str, Any]] = []

    async def decide(self, policy_input: dict[str, Any]) -> Decision:
        self.inputs.append(policy_input)
        addresses = policy_input["destination"]["addresses"]
        private = any(ipaddress.ip_address(a).is_loopback for a in addresses)
        reason = "private_destination" if private else "allowed"
        return Decision(not private, (reason,), ("r",), ("m",), "rev")


@pytest.mark.parametrize("ttl", [0.0, 30.0])
async def test_dns_rebinding_cannot_swap_the_checked_address(
    runtime: ProxyRuntime, ttl: float
) -> None:
    lookup = ChangingLookup([["203.0.113.7"], ["127.0.0.1"]])
    policy = PublicOnlyPolicy()
    runtime.decider = Decider(policy, Resolver(ttl=ttl, lookup=lookup))  # type: ignore[arg-type]
    identity, pinning = Identity(runtime), Pinning()
    flow = authorised_flow()
    flow.request.host, flow.request.port = "rebind.example", 443
    flow.client_conn.sni = None
    flow.request.headers["Host"] = "rebind.example"
    await identity.requestheaders(flow)
    await Policy(runtime, identity, pinning).requestheaders(flow)
    assert flow.response is None
    assert policy.inputs[0]["destination"]["addresses"] == ["203.0.113.7"]
    # The name now resolves to loopback: a proxy that looked it up again would go there.
    assert await runtime.decider._resolver.addresses("rebind.example", 443) == (
        ("127.0.0.1",) if ttl == 0 else ("203.0.113.7",)
    )
    data = hook(flow.client_conn, "rebind.example", 443)
    pinning.server_connect(data)
    assert data.server.address == ("203.0.113.7", 443)
