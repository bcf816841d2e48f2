"""Destination names: canonical hosts, IP literals in every encoding, Host headers."""

from __future__ import annotations

import pytest

from gateway.egress.hosts import (
    InvalidHost,
    canonical_host,
    embedded_ipv4,
    ip_literal,
    normalise_host,
    parse_ipv4,
    split_host_header,
)


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
        ("ＬＯＣＡＬＨＯＳＴ", "localhost"),  # full-width letters (UTS 46 maps them)
        ("metadata。google。internal", "metadata.google.internal"),  # ideographic dots
        ("_dmarc.example.com", "_dmarc.example.com"),
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("::1", "::1"),
        ("::ffff:127.0.0.1", "127.0.0.1"),
        ("[::FFFF:10.0.0.1]", "10.0.0.1"),
        ("[::ffff:7f00:1]", "127.0.0.1"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("[2001:0db8:0000::0001]", "2001:db8::1"),
        ("fe80:0:0:0:0:0:0:1", "fe80::1"),
    ],
)
def test_canonical_host(raw: str, expected: str) -> None:
    assert canonical_host(raw) == expected
    assert normalise_host(raw) == expected


# Every encoding inet_aton (and so curl, libc and many HTTP libraries) accepts.
LOOPBACK_ENCODINGS = [
    "2130706433",  # one 32-bit decimal
    "0x7f000001",  # one 32-bit hex
    "0X7F000001",
    "017700000001",  # one 32-bit octal
    "0177.0.0.1",  # octal part
    "0x7f.0.0.1",  # hex part
    "0x7f.0x0.0x0.0x1",
    "127.1",  # a.b: b fills 24 bits
    "127.0.1",  # a.b.c: c fills 16 bits
    "0x7f.1",
    "0177.1",
    "127.0.0.1.",  # trailing dot
    "１２７.０.０.１",  # full-width digits
]


@pytest.mark.parametrize("raw", LOOPBACK_ENCODINGS)
def test_every_ipv4_encoding_is_canonical(raw: str) -> None:
    assert canonical_host(raw) == "127.0.0.1"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2852039166", "169.254.169.254"),  # cloud metadata, decimal
        ("0xa9fea9fe", "169.254.169.254"),
        ("0251.0376.0251.0376", "169.254.169.254"),
        ("169.254.43518", "169.254.169.254"),
        ("0", "0.0.0.0"),
        ("0x", "0.0.0.0"),
        ("0xffffffff", "255.255.255.255"),
        ("1.2.3", "1.2.0.3"),
    ],
)
def test_other_numeric_forms(raw: str, expected: str) -> None:
    assert canonical_host(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "256.1.1.1",  # part out of range
        "1.2.3.4.5",  # too many parts
        "4294967296",  # 2**32
        "127.16777216",  # last part too large for a.b
        "08.1.1.1",  # 8 is no octal digit
        "0x1g.1",  # last part numeric, another one not
        "example.123",  # a name may not end in a number
        "example.0x1f",
        "a..b",
        "localhost@evil.example",  # userinfo is no part of a host
        "evil.example/x",
        "exa mple.com",
        "",
    ],
)
def test_hosts_that_name_no_host_are_invalid(raw: str) -> None:
    with pytest.raises(InvalidHost):
        canonical_host(raw)


def test_normalise_host_is_lenient_where_canonical_host_refuses() -> None:
    assert normalise_host("A..B") == "a..b"
    assert normalise_host("Localhost@Evil") == "localhost@evil"


def test_normalise_host_is_idempotent() -> None:
    for raw in ("bücher.example.", "[::ffff:127.0.0.1]", "2001:DB8::1", "Example.com", "0x7f.1"):
        once = normalise_host(raw)
        assert normalise_host(once) == once


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1.2.3.4", "1.2.3.4"),
        ("::ffff:1.2.3.4", "1.2.3.4"),
        ("2001:db8::0:1", "2001:db8::1"),
        ("0x7f.1", "127.0.0.1"),
        ("example.com", None),
        ("", None),
        ("1.2.3.4.5", None),
        ("::g", None),
    ],
)
def test_ip_literal(raw: str, expected: str | None) -> None:
    assert ip_literal(raw) == expected


def test_parse_ipv4_rejects_non_ascii_digits_that_isdigit_accepts() -> None:
    assert parse_ipv4("١٢٧.0.0.1") is None  # Arabic-Indic digits: not a number here


@pytest.mark.parametrize(
    ("address", "inner"),
    [
        ("64:ff9b::7f00:1", "127.0.0.1"),  # NAT64 well-known prefix
        ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
        ("64:ff9b:1::a00:1", "10.0.0.1"),  # NAT64 local-use prefix
        ("2002:7f00:1::", "127.0.0.1"),  # 6to4
        ("2002:a9fe:a9fe::1", "169.254.169.254"),
        ("::7f00:1", "127.0.0.1"),  # IPv4-compatible (deprecated)
        ("::ffff:0:a00:1", "10.0.0.1"),  # IPv4-translated
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "127.0.0.1"),  # Teredo client (obfuscated)
        ("::1", None),
        ("::", None),
        ("2001:db8::1", None),
        ("10.0.0.1", None),
        ("not-an-address", None),
    ],
)
def test_embedded_ipv4(address: str, inner: str | None) -> None:
    assert embedded_ipv4(address) == inner


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
        ("allowed.example@evil.example:443", "allowed.example@evil.example"),
    ],
)
def test_split_host_header(value: str, expected: str) -> None:
    assert split_host_header(value) == expected
