"""Normalise destination names so that policy compares what the bytes will reach.

Host names are lower-cased, lose brackets and one trailing dot, and go through
IDNA 2008 / UTS 46 (as browsers and curl do), so ``ＬＯＣＡＬＨＯＳＴ`` is
``localhost``. IP literals are canonical in every encoding ``inet_aton`` and the
WHATWG URL standard accept (``2130706433``, ``0x7f.1``, ``0177.0.0.1``), and an
IPv4-mapped IPv6 literal is its IPv4 address. A host that ends in a number but
is no valid IPv4 address (``1.2.3.4.5``, ``256.1.1.1``) is not a host at all.
"""

from __future__ import annotations

import ipaddress
import re

import idna

_HEX = re.compile(r"0[xX][0-9a-fA-F]*")
_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")

# IPv6 prefixes whose addresses carry an IPv4 address in their last 32 bits:
# NAT64 well-known and local-use (RFC 6052, RFC 8215), IPv4-translated (RFC 2765).
_EMBEDDING_96 = tuple(
    ipaddress.IPv6Network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "::ffff:0:0:0/96")
)
_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated IPv4-compatible


class InvalidHost(ValueError):
    """A destination host that names no host: numeric but not IPv4, or bad characters."""


def normalise_host(host: str) -> str:
    """The canonical form of ``host``; lenient: text that is no valid host is returned
    lower-cased (see :func:`canonical_host` for the strict form)."""
    try:
        return canonical_host(host)
    except InvalidHost:
        return host.strip().strip("[]").rstrip(".").lower()


def canonical_host(host: str) -> str:
    """Canonical host or :class:`InvalidHost`: what policy and audit see."""
    text = host.strip().strip("[]").lower()
    if not text.isascii():
        try:  # UTS 46 also maps full-width letters, digits and dots to ASCII
            text = idna.encode(text.rstrip(".。．｡"), uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise InvalidHost(f"{host!r} is not a valid internationalised name") from exc
    text = text.removesuffix(".")
    literal = ip_literal(text)
    if literal is not None:
        return literal
    if _ends_in_number(text):
        raise InvalidHost(f"{host!r} looks like an IPv4 address but is not a valid one")
    if not _NAME.fullmatch(text):
        raise InvalidHost(f"{host!r} is not a valid host name")
    return text


def ip_literal(host: str) -> str | None:
    """Canonical text of an IP literal in any accepted encoding, else None."""
    host = host.strip("[]")
    if ":" in host:
        try:
            addr = ipaddress.IPv6Address(host)
        except ValueError:
            return None
        return str(addr.ipv4_mapped) if addr.ipv4_mapped is not None else str(addr)
    v4 = parse_ipv4(host)
    return str(v4) if v4 is not None else None


def parse_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The WHATWG URL IPv4 parser (the forms ``inet_aton`` accepts): one to four parts,
    each decimal, octal (leading ``0``) or hex (``0x``); the last part fills the
    remaining bytes. None when ``host`` is not such a number."""
    parts = host.removesuffix(".").split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_ipv4_part(p) for p in parts]
    if any(n is None for n in numbers):
        return None
    values = [n for n in numbers if n is not None]
    if any(v > 255 for v in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        return None
    total = values[-1]
    for i, value in enumerate(values[:-1]):
        total += value << (8 * (3 - i))
    return ipaddress.IPv4Address(total)


def _ipv4_part(part: str) -> int | None:
    if _HEX.fullmatch(part):
        return int(part[2:] or "0", 16)
    if not part.isdigit() or not part.isascii():
        return None
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8) if all(c in "01234567" for c in part) else None
    return int(part)


def _ends_in_number(host: str) -> bool:
    """WHATWG "ends in a number": such a host must parse as IPv4 or is invalid."""
    last = host.removesuffix(".").rpartition(".")[2]
    return bool(last) and (last.isdigit() or bool(_HEX.fullmatch(last)))


def embedded_ipv4(address: str) -> str | None:
    """The IPv4 address an IPv6 address reaches through a translator or tunnel:
    NAT64, IPv4-translated, 6to4, Teredo (client) and IPv4-compatible forms."""
    try:
        addr = ipaddress.ip_address(address)
    except ValueError:
        return None
    if not isinstance(addr, ipaddress.IPv6Address):
        return None
    if addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    if addr.sixtofour is not None:
        return str(addr.sixtofour)
    if addr.teredo is not None:
        return str(addr.teredo[1])
    if any(addr in net for net in _EMBEDDING_96) or (addr in _COMPATIBLE and int(addr) > 1):
        return str(ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF))
    return None


def split_host_header(value: str) -> str:
    """The host part of a Host header / :authority value (userinfo is kept: it makes
    the value disagree with any real host, which is the point)."""
    value = value.strip()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    host, sep, port = value.rpartition(":")
    return host if sep and port.isdigit() else value
