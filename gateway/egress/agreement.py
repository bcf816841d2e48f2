"""Every name a request carries for its destination must agree (no domain fronting).

A request names its destination up to five times: the CONNECT target of its
tunnel, the TLS SNI, the request target (absolute-form URI or HTTP/2
``:authority``), the ``Host`` header(s), and the host the proxy will connect to.
Policy decides on one destination only, so any disagreement is refused here,
with a reason that names the disagreeing part.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.egress.hosts import InvalidHost, canonical_host, normalise_host, split_host_header
from gateway.egress.verdict import Verdict, refusal


@dataclass(frozen=True)
class Claims:
    host: str  # where the proxy sends the request (as the proxy engine parsed it)
    port: int
    tunnel: tuple[str, int] | None = None  # CONNECT target, if inside a tunnel
    sni: str | None = None
    authority: str = ""  # absolute-form authority or :authority; "" for origin-form
    host_headers: tuple[str, ...] = ()


def check_claims(claims: Claims) -> tuple[str, Verdict | None]:
    """The canonical destination host, and a refusal if the claims disagree."""
    try:
        host = canonical_host(claims.host)
    except InvalidHost as exc:
        return claims.host, refusal("invalid_host", str(exc))
    label = f"{host}:{claims.port}"
    if claims.tunnel is not None and _where(*claims.tunnel) != (host, claims.port):
        tunnel = f"{claims.tunnel[0]}:{claims.tunnel[1]}"
        return host, refusal("destination_mismatch", f"request for {label} in a tunnel to {tunnel}")
    if claims.authority and not _same(claims.authority, host, claims.port):
        return host, refusal(
            "destination_mismatch", f"request target {claims.authority!r} is not {label}"
        )
    if claims.sni and normalise_host(claims.sni) != host:
        return host, refusal("sni_mismatch", f"TLS SNI {claims.sni!r} does not match {host!r}")
    for header in claims.host_headers:
        if normalise_host(split_host_header(header)) != host:
            return host, refusal("host_mismatch", f"Host header {header!r} does not match {host!r}")
    return host, None


def _where(host: str, port: int) -> tuple[str, int]:
    return normalise_host(host), port


def _same(authority: str, host: str, port: int) -> bool:
    """An authority agrees when its host does and, if it names a port, its port does."""
    if normalise_host(split_host_header(authority)) != host:
        return False
    tail = authority.rpartition("]")[2] if authority.startswith("[") else authority
    _, sep, named = tail.rpartition(":")
    return not (sep and named.isdigit()) or int(named) == port
