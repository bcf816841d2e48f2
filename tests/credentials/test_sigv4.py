"""SigV4 re-signing: the real keys' signature over the SDK's own signed request."""

from __future__ import annotations

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from gateway.credentials import sigv4

URL = "https://localhost:4443/aws/"
BODY = b"Action=GetCallerIdentity&Version=2011-06-15"


def sdk_request(key_id: str, secret: str) -> dict[str, str]:
    request = AWSRequest(
        method="POST",
        url=URL,
        data=BODY,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    SigV4Auth(Credentials(key_id, secret), "sts", "us-east-1").add_auth(request)
    return {k.lower(): v for k, v in request.headers.items()}


def test_parse_reads_the_scope() -> None:
    auth = sigv4.parse(sdk_request("AKIAPLACEHOLDER", "ph-secret")["authorization"])
    assert auth is not None
    assert (auth.key_id, auth.region, auth.service) == ("AKIAPLACEHOLDER", "us-east-1", "sts")
    assert "host" in auth.signed_headers and "x-amz-date" in auth.signed_headers
    assert sigv4.parse("Bearer abc") is None


def test_resigned_request_verifies_under_the_real_keys() -> None:
    headers = sdk_request("AKIAPLACEHOLDER", "ph-secret")
    auth = sigv4.parse(headers["authorization"])
    assert auth is not None
    new = sigv4.resign(auth, "POST", URL, headers, BODY, "AKIAREALKEY", "real-secret")
    real = sigv4.parse(new)
    assert real is not None and real.key_id == "AKIAREALKEY"
    expected = sigv4.signature(
        real, "POST", URL, headers, BODY, "real-secret", headers["x-amz-date"]
    )
    assert new.endswith(f"Signature={expected}")
    wrong = sigv4.signature(real, "POST", URL, headers, BODY, "ph-secret", headers["x-amz-date"])
    assert wrong != expected
