"""The real destination: its normalised name (gateway/egress/hosts.py) and its
addresses, resolved once, for the policy and for the connection.

The addresses a name resolves to are checked by policy (every one of them) and
then the proxy connects to one of those very addresses: nothing resolves the
name a second time, so DNS rebinding cannot swap the address in between.
Lookups go to the system resolver (``getaddrinfo``) or, with ``dns_servers``,
straight to the given DNS servers.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Sequence
from typing import Protocol

import dns.asyncresolver
import dns.exception
import dns.nameserver

from gateway.config import parse_dns_server
from gateway.egress.hosts import (
    InvalidHost,
    canonical_host,
    embedded_ipv4,
    ip_literal,
    normalise_host,
    split_host_header,
)

__all__ = [
    "DnsLookup",
    "InvalidHost",
    "Lookup",
    "Resolver",
    "SystemLookup",
    "build_lookup",
    "canonical_host",
    "connect_address",
    "embedded_ipv4",
    "ip_literal",
    "normalise_host",
    "policy_addresses",
    "split_host_header",
]


class Lookup(Protocol):
    """Addresses of ``host`` in preference order; empty when it does not resolve."""

    async def __call__(self, host: str, port: int) -> list[str]: ...


class SystemLookup:
    """``getaddrinfo`` in the loop's executor (honours /etc/hosts and nsswitch)."""

    async def __call__(self, host: str, port: int) -> list[str]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            return []
        return [str(info[4][0]) for info in infos]


class DnsLookup:
    """A and AAAA queries to the given servers (``IP`` or ``IP:PORT`` each), not /etc/hosts."""

    def __init__(self, servers: Sequence[str], timeout: float = 3.0) -> None:
        self._resolver = dns.asyncresolver.Resolver(configure=False)
        self._resolver.nameservers = [
            dns.nameserver.Do53Nameserver(*parse_dns_server(s)) for s in servers
        ]
        self._resolver.lifetime = timeout
        self._resolver.cache = None  # Airlock's own cache decides how long an answer holds

    async def __call__(self, host: str, port: int) -> list[str]:
        out: list[str] = []
        for rdtype in ("A", "AAAA"):
            try:
                answer = await self._resolver.resolve(host, rdtype, search=False)
            except (dns.exception.DNSException, UnicodeError, ValueError):
                continue
            out += [rr.to_text() for rr in answer]
        return out


def build_lookup(servers: Sequence[str]) -> Lookup:
    return DnsLookup(servers) if servers else SystemLookup()


def policy_addresses(addresses: Sequence[str]) -> tuple[str, ...]:
    """What policy checks: each address plus any IPv4 address it embeds (NAT64, 6to4,
    Teredo, ...), so an IPv6 detour to a private IPv4 address is private too."""
    out = list(addresses)
    for address in addresses:
        inner = embedded_ipv4(address)
        if inner is not None and inner not in out:
            out.append(inner)
    return tuple(out)


def connect_address(addresses: Sequence[str]) -> str | None:
    """The checked address to connect to: the first IPv4 one, else the first."""
    for address in addresses:
        if isinstance(ipaddress.ip_address(address), ipaddress.IPv4Address):
            return address
    return addresses[0] if addresses else None


class Resolver:
    """Resolve once per ``ttl`` seconds per host; literals need no lookup."""

    def __init__(self, ttl: float = 30.0, lookup: Lookup | None = None) -> None:
        self._ttl = ttl
        self._lookup: Lookup = lookup or SystemLookup()
        self._cache: dict[str, tuple[float, tuple[str, ...]]] = {}

    async def addresses(self, host: str, port: int) -> tuple[str, ...]:
        literal = ip_literal(host)
        if literal is not None:
            return (literal,)
        now = time.monotonic()
        hit = self._cache.get(host)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        found = await self._lookup(host, port)
        result = tuple(dict.fromkeys(ip_literal(a) or a for a in found))  # order kept
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[host] = (now, result)
        return result
