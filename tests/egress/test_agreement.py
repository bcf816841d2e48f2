"""Every name a request carries for its destination must agree (no domain fronting)."""

from __future__ import annotations

import pytest

from gateway.egress.agreement import Claims, check_claims


def reason(claims: Claims) -> str:
    _, refused = check_claims(claims)
    return refused.reason if refused else ""


def test_agreeing_claims_give_the_canonical_host() -> None:
    claims = Claims(
        host="API.Example.com.",
        port=443,
        tunnel=("api.example.com", 443),
        sni="API.EXAMPLE.COM",
        authority="api.example.com:443",
        host_headers=("api.example.com",),
    )
    assert check_claims(claims) == ("api.example.com", None)


def test_numeric_host_is_canonical() -> None:
    assert check_claims(Claims(host="0x7f.1", port=80)) == ("127.0.0.1", None)


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        # CONNECT target vs request
        (Claims("evil.example", 443, tunnel=("good.example", 443)), "destination_mismatch"),
        (Claims("good.example", 8443, tunnel=("good.example", 443)), "destination_mismatch"),
        # absolute-form URI / :authority vs the tunnel (HTTP/2: a second authority)
        (Claims("good.example", 443, authority="evil.example"), "destination_mismatch"),
        (Claims("good.example", 443, authority="good.example:8443"), "destination_mismatch"),
        (
            Claims("good.example", 443, authority="good.example@evil.example"),
            "destination_mismatch",
        ),
        # SNI vs request (domain fronting)
        (Claims("good.example", 443, sni="evil.example"), "sni_mismatch"),
        # Host header(s) vs request
        (Claims("good.example", 443, host_headers=("evil.example",)), "host_mismatch"),
        (
            Claims("good.example", 443, host_headers=("good.example", "evil.example")),
            "host_mismatch",
        ),
        (Claims("good.example", 443, host_headers=("good.example@evil.example",)), "host_mismatch"),
        (Claims("127.0.0.1", 80, host_headers=("127.0.0.2",)), "host_mismatch"),
        # a host that names no host
        (Claims("1.2.3.4.5", 80), "invalid_host"),
        (Claims("good.example@evil.example", 80), "invalid_host"),
    ],
)
def test_disagreement_is_refused_naming_the_part(claims: Claims, expected: str) -> None:
    assert reason(claims) == expected


@pytest.mark.parametrize(
    "claims",
    [
        Claims("good.example", 443, host_headers=("GOOD.example:8443",)),  # Host port not compared
        Claims("good.example", 443, authority="good.example"),  # no port named
        Claims("2001:db8::1", 443, authority="[2001:DB8::1]:443", host_headers=("[2001:db8::1]",)),
        Claims("127.0.0.1", 80, host_headers=("2130706433",)),  # same address, other encoding
        Claims("xn--bcher-kva.example", 443, sni="bücher.example"),
    ],
)
def test_equivalent_spellings_agree(claims: Claims) -> None:
    assert reason(claims) == ""
