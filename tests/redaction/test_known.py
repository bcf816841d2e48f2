"""Known secrets in raw, base64, URL-encoded, JSON-escaped and Basic-auth forms."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest

from gateway.redaction import Redactor

VALUE = 'pa"ss\\wo/rd+ Zq8&x=' + "v" * 6


@pytest.fixture
def redactor() -> Redactor:
    r = Redactor(b"known-test-key")
    r.register_known("db-password", VALUE)
    return r


@pytest.mark.parametrize(
    "form",
    [
        VALUE,
        quote(VALUE, safe=""),
        json.dumps(VALUE)[1:-1],
        base64.b64encode(VALUE.encode()).decode(),
        base64.urlsafe_b64encode(VALUE.encode()).decode(),
    ],
    ids=["raw", "urlencoded", "json", "base64", "base64url"],
)
def test_each_form_is_redacted(redactor: Redactor, form: str) -> None:
    text = f"prefix {form} suffix".encode()
    redacted, findings = redactor.redact(text)
    assert [f.known_name for f in findings] == ["db-password"]
    assert findings[0].fingerprint == redactor.fingerprint(VALUE.encode())
    assert redacted.startswith(b"prefix [REDACTED:known_secret:fp=")
    assert redacted.endswith(b"] suffix")


@pytest.mark.parametrize("user", ["u", "us", "usr", "deploy-bot"])
def test_basic_auth_for_any_user(redactor: Redactor, user: str) -> None:
    blob = base64.b64encode(f"{user}:{VALUE}".encode()).decode()
    text = f"GET / HTTP/1.1\r\nAuthorization: Basic {blob}\r\n\r\n".encode()
    redacted, findings = redactor.redact(text)
    assert blob.encode() not in redacted
    assert findings[0].detector == "known_secret"
    assert text[findings[0].start : findings[0].end] == blob.encode()


def test_value_inside_larger_base64_blob(redactor: Redactor) -> None:
    for pad in range(3):
        blob = base64.b64encode(b"x" * pad + b"{p:" + VALUE.encode() + b"}").decode()
        redacted, findings = redactor.redact(f"data={blob};".encode())
        assert redacted.endswith(b"];") and len(findings) == 1


def test_registration_is_reflected_immediately() -> None:
    r = Redactor(b"k")
    assert r.scan(b"the value Zx9-Qw7-Lm3 here") == []
    r.register_known("short", "Zx9-Qw7-Lm3")
    assert [f.known_name for f in r.scan(b"the value Zx9-Qw7-Lm3 here")] == ["short"]


def test_too_short_value_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValueError) as err:
        Redactor(b"k").register_known("pin", "q7!")
    assert "q7!" not in str(err.value)


def test_known_secret_never_in_reprs(redactor: Redactor) -> None:
    findings = redactor.scan(f"x {VALUE} y".encode())
    for text in (repr(redactor), repr(findings), str(findings), repr(redactor.stream())):
        assert VALUE not in text and "Zq8" not in text


def test_known_beats_provider_rule() -> None:
    token = "gh" + "p_" + "Zz9" * 12
    r = Redactor(b"k")
    r.register_known("ci-token", token)
    (finding,) = r.scan(f"token={token}".encode())
    assert (finding.detector, finding.known_name) == ("known_secret", "ci-token")
