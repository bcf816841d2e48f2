"""AWS Signature Version 4: re-sign a request made with placeholder keys.

The agent's SDK signs with placeholder keys; the proxy recomputes the signature
with the real keys over exactly the headers the SDK signed and the same
``X-Amz-Date``, so nothing else about the request changes. botocore's signer
does the canonicalisation.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

_AUTH = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request,\s*SignedHeaders=(?P<signed>[^,\s]+),\s*"
    r"Signature=(?P<sig>[0-9a-f]{64})"
)


@dataclass(frozen=True)
class SigV4Header:
    key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]


def parse(authorization: str) -> SigV4Header | None:
    match = _AUTH.fullmatch(authorization.strip())
    if match is None:
        return None
    signed = tuple(match["signed"].split(";"))
    return SigV4Header(match["key"], match["date"], match["region"], match["service"], signed)


class _Signer(SigV4Auth):
    """SigV4 over a fixed timestamp, with the payload hash the client declared if any."""

    def payload(self, request: AWSRequest) -> str:
        declared = request.headers.get("X-Amz-Content-SHA256")
        if declared:
            return str(declared)
        return hashlib.sha256(request.body or b"").hexdigest()


def signature(
    auth: SigV4Header,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    secret: str,
    amz_date: str,
) -> str:
    """The SigV4 signature of this request under ``secret`` (headers: the signed ones)."""
    request = AWSRequest(
        method=method,
        url=url,
        data=body,
        headers={k: v for k, v in headers.items() if k in auth.signed_headers},
    )
    request.context["timestamp"] = amz_date
    signer = _Signer(Credentials(auth.key_id, secret), auth.service, auth.region)
    canonical = signer.canonical_request(request)
    return str(signer.signature(signer.string_to_sign(request, canonical), request))


def resign(
    auth: SigV4Header,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    real_key_id: str,
    real_secret: str,
) -> str:
    """The Authorization header value for the real keys (same date and signed headers)."""
    amz_date = headers.get("x-amz-date", "")
    real = SigV4Header(real_key_id, auth.date, auth.region, auth.service, auth.signed_headers)
    sig = signature(real, method, url, headers, body, real_secret, amz_date)
    return (
        f"AWS4-HMAC-SHA256 Credential={real_key_id}/{auth.date}/{auth.region}/{auth.service}/"
        f"aws4_request, SignedHeaders={';'.join(auth.signed_headers)}, Signature={sig}"
    )
