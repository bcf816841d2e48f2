"""Normalise destination names and resolve them once, asynchronously."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time

import idna


def normalise_host(host: str) -> str:
    """Lowercase, strip brackets and trailing dots, IDN → punycode, canonical IPs."""
    host = host.strip().strip("[]").rstrip(".").lower()
    literal = ip_literal(host)
    if literal is not None:
        return literal
    if host.isascii():
        return host
    try:  # IDNA 2008 / UTS 46, as browsers and curl do (not Python's IDNA 2003 codec)
        return str(idna.encode(host, uts46=True).decode("ascii"))
    except idna.IDNAError:
        return host


def ip_literal(host: str) -> str | None:
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)


def split_host_header(value: str) -> str:
    """The host part of a Host header / :authority value."""
    value = value.strip()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    host, sep, port = value.rpartition(":")
    return host if sep and port.isdigit() else value


class Resolver:
    """getaddrinfo in the loop's executor, cached for ``ttl`` seconds."""

    def __init__(self, ttl: float = 30.0) -> None:
        self._ttl = ttl
        self._cache: dict[str, tuple[float, tuple[str, ...]]] = {}

    async def addresses(self, host: str, port: int) -> tuple[str, ...]:
        literal = ip_literal(host)
        if literal is not None:
            return (literal,)
        now = time.monotonic()
        hit = self._cache.get(host)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            result: tuple[str, ...] = ()
        else:
            seen = {ip_literal(str(info[4][0])) or str(info[4][0]) for info in infos}
            result = tuple(sorted(seen))
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[host] = (now, result)
        return result
