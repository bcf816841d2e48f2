"""Resolving destinations once: lookups, caching, what policy checks, where to connect."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import pytest

from gateway.egress.destination import (
    DnsLookup,
    Resolver,
    SystemLookup,
    build_lookup,
    connect_address,
    policy_addresses,
)
from tests.support.dns_server import RebindingDns


@dataclass
class ChangingLookup:
    """A lookup whose answer changes on every call (a rebinding DNS, without DNS):
    a test double for the ``Lookup`` protocol, counting its calls."""

    answers: list[list[str]]
    calls: list[str] = field(default_factory=list)

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        return self.answers[min(len(self.calls), len(self.answers)) - 1]


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1",)),
        ("::ffff:10.1.2.3", ("10.1.2.3",)),
        ("2001:DB8:0::1", ("2001:db8::1",)),
        ("0x7f.1", ("127.0.0.1",)),
    ],
)
async def test_ip_literal_needs_no_dns(host: str, expected: tuple[str, ...]) -> None:
    lookup = ChangingLookup([["203.0.113.1"]])
    resolver = Resolver(lookup=lookup)
    assert await resolver.addresses(host, 443) == expected
    assert lookup.calls == []


async def test_lookup_order_is_kept_and_duplicates_dropped() -> None:
    lookup = ChangingLookup([["203.0.113.9", "::ffff:203.0.113.9", "2001:db8::1", "203.0.113.2"]])
    addresses = await Resolver(lookup=lookup).addresses("example.com", 443)
    assert addresses == ("203.0.113.9", "2001:db8::1", "203.0.113.2")


async def test_a_name_is_resolved_once_per_ttl_whatever_dns_says_later() -> None:
    """The decision and the connection use the same answer: a rebinding DNS that
    answers loopback the second time is never asked a second time."""
    lookup = ChangingLookup([["203.0.113.7"], ["127.0.0.1"]])
    resolver = Resolver(ttl=3600, lookup=lookup)
    first = await resolver.addresses("rebind.example", 443)
    second = await resolver.addresses("rebind.example", 443)
    assert first == second == ("203.0.113.7",)
    assert lookup.calls == ["rebind.example"]


async def test_zero_ttl_looks_up_again() -> None:
    lookup = ChangingLookup([["203.0.113.7"], ["127.0.0.1"]])
    resolver = Resolver(ttl=0, lookup=lookup)
    assert await resolver.addresses("rebind.example", 443) == ("203.0.113.7",)
    assert await resolver.addresses("rebind.example", 443) == ("127.0.0.1",)


async def test_system_lookup_resolves_localhost_to_loopback() -> None:
    addresses = await Resolver(lookup=SystemLookup()).addresses("localhost", 80)
    assert addresses
    assert all(ipaddress.ip_address(a).is_loopback for a in addresses)


async def test_system_lookup_of_unknown_and_bad_names_is_empty() -> None:
    assert await SystemLookup()("nonexistent.invalid", 443) == []
    assert await SystemLookup()("a..b", 443) == []


async def test_dns_lookup_asks_the_configured_server() -> None:
    with RebindingDns({"svc.test": [["203.0.113.5", "2001:db8::5"]]}) as dns:
        lookup = DnsLookup([dns.address])
        assert await lookup("svc.test", 443) == ["203.0.113.5", "2001:db8::5"]
        assert await lookup("missing.test", 443) == []
        assert ("svc.test", "A") in dns.queries and ("svc.test", "AAAA") in dns.queries


async def test_dns_lookup_sees_rebinding_but_the_resolver_asks_once() -> None:
    with RebindingDns({"rebind.test": ["203.0.113.7", "127.0.0.1"]}) as dns:
        lookup = DnsLookup([dns.address])
        assert await lookup("rebind.test", 443) == ["203.0.113.7"]
        assert await lookup("rebind.test", 443) == ["127.0.0.1"]  # the attack
        resolver = Resolver(lookup=DnsLookup([dns.address]))
        assert await resolver.addresses("rebind.test", 443) == ("127.0.0.1",)
        assert await resolver.addresses("rebind.test", 443) == ("127.0.0.1",)
        assert dns.queries.count(("rebind.test", "A")) == 3


def test_build_lookup() -> None:
    assert isinstance(build_lookup([]), SystemLookup)
    assert isinstance(build_lookup(["127.0.0.1:5353", "[::1]:53", "192.0.2.53"]), DnsLookup)


def test_policy_addresses_add_the_ipv4_an_ipv6_address_reaches() -> None:
    assert policy_addresses(["203.0.113.1", "64:ff9b::7f00:1", "2002:a9fe:a9fe::"]) == (
        "203.0.113.1",
        "64:ff9b::7f00:1",
        "2002:a9fe:a9fe::",
        "127.0.0.1",
        "169.254.169.254",
    )
    assert policy_addresses([]) == ()


@pytest.mark.parametrize(
    ("addresses", "chosen"),
    [
        (["2001:db8::1", "203.0.113.1", "203.0.113.2"], "203.0.113.1"),
        (["::1", "127.0.0.1"], "127.0.0.1"),
        (["2001:db8::1"], "2001:db8::1"),
        ([], None),
    ],
)
def test_connect_address_is_a_checked_one_ipv4_first(
    addresses: list[str], chosen: str | None
) -> None:
    assert connect_address(addresses) == chosen
