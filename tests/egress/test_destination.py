"""Destination names: normalisation, Host header parsing, async resolution."""

from __future__ import annotations

import ipaddress

import pytest

from gateway.egress.destination import Resolver, ip_literal, normalise_host, split_host_header


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Example.COM", "example.com"),
        ("example.com.", "example.com"),
        ("  example.com  ", "example.com"),
        ("PyPI.org.", "pypi.org"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("BÜCHER.Example.", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("::1", "::1"),
        ("::ffff:127.0.0.1", "127.0.0.1"),
        ("[::FFFF:10.0.0.1]", "10.0.0.1"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("[2001:0db8:0000::0001]", "2001:db8::1"),
        ("fe80:0:0:0:0:0:0:1", "fe80::1"),
    ],
)
def test_normalise_host(raw: str, expected: str) -> None:
    assert normalise_host(raw) == expected


def test_normalise_host_is_idempotent() -> None:
    for raw in ("bücher.example.", "[::ffff:127.0.0.1]", "2001:DB8::1", "Example.com"):
        once = normalise_host(raw)
        assert normalise_host(once) == once


def test_normalise_host_keeps_non_idna_names() -> None:
    # An empty label cannot be IDNA-encoded; the lowercased name is returned as is.
    assert normalise_host("A..B") == "a..b"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1.2.3.4", "1.2.3.4"),
        ("::ffff:1.2.3.4", "1.2.3.4"),
        ("2001:db8::0:1", "2001:db8::1"),
        ("example.com", None),
        ("", None),
        ("1.2.3", None),
    ],
)
def test_ip_literal(raw: str, expected: str | None) -> None:
    assert ip_literal(raw) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("example.com:443", "example.com"),
        ("example.com", "example.com"),
        (" example.com:8080 ", "example.com"),
        ("127.0.0.1:80", "127.0.0.1"),
        ("[::1]:8080", "::1"),
        ("[::1]", "::1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("[::1", "[::1"),
        ("example.com:http", "example.com:http"),
    ],
)
def test_split_host_header(value: str, expected: str) -> None:
    assert split_host_header(value) == expected


# Resolver ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1",)),
        ("::ffff:10.1.2.3", ("10.1.2.3",)),
        ("2001:DB8:0::1", ("2001:db8::1",)),
    ],
)
async def test_ip_literal_needs_no_dns(host: str, expected: tuple[str, ...]) -> None:
    resolver = Resolver()
    assert await resolver.addresses(host, 443) == expected
    # Literals never reach getaddrinfo, so nothing is cached for them.
    assert resolver._cache == {}


async def test_localhost_resolves_to_loopback() -> None:
    addresses = await Resolver().addresses("localhost", 80)
    assert addresses
    assert all(ipaddress.ip_address(a).is_loopback for a in addresses)
    assert list(addresses) == sorted(set(addresses))


async def test_unknown_name_resolves_to_nothing() -> None:
    assert await Resolver().addresses("nonexistent.invalid", 443) == ()


async def test_bad_idna_name_resolves_to_nothing() -> None:
    assert await Resolver().addresses("a..b", 443) == ()


async def test_cache_hit_returns_the_same_tuple() -> None:
    resolver = Resolver(ttl=3600)
    first = await resolver.addresses("localhost", 80)
    second = await resolver.addresses("localhost", 443)
    assert second is first  # a fresh lookup would build a new tuple


async def test_zero_ttl_looks_up_again() -> None:
    resolver = Resolver(ttl=0)
    first = await resolver.addresses("localhost", 80)
    second = await resolver.addresses("localhost", 80)
    assert second == first
    assert second is not first
