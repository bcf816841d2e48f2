"""Request framing that two HTTP parsers could read differently (request smuggling).

mitmproxy itself refuses Content-Length / Transfer-Encoding conflicts, repeated or
invalid Content-Length values and unknown transfer codings before any addon sees
the request (its ``validate_inbound_headers``). What it lets through and Airlock
refuses here: obsolete line folding and other line breaks inside a header value
(mitmproxy keeps them and would forward them), and more than one ``Host`` header
(RFC 9112 §3.2: a server must answer 400). The CL/TE checks are repeated so the
rule holds even if the proxy engine's own check were switched off.
"""

from __future__ import annotations

from collections.abc import Iterable


def framing_problem(headers: Iterable[tuple[str, str]]) -> str | None:
    """Why these request headers are ambiguous, or None."""
    counts: dict[str, int] = {}
    for name, value in headers:
        if any(c in value for c in "\r\n\x00"):
            return f"header {name!r} contains a line break or NUL (obsolete line folding)"
        key = name.lower()
        counts[key] = counts.get(key, 0) + 1
    if counts.get("host", 0) > 1:
        return "more than one Host header"
    if counts.get("content-length") and counts.get("transfer-encoding"):
        return "both Content-Length and Transfer-Encoding"
    if counts.get("content-length", 0) > 1 or counts.get("transfer-encoding", 0) > 1:
        return "repeated Content-Length or Transfer-Encoding header"
    return None
