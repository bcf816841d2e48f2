"""Benign structures are never altered, and binary content types are recognised."""

from __future__ import annotations

import random

import pytest

from gateway.redaction import Redactor, is_binary_content_type
from tests.redaction.benign_corpus import GENERATORS


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor(b"benign-test-key")


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_benign_structures_are_byte_identical(redactor: Redactor, kind: str) -> None:
    for seed in range(20):
        text = GENERATORS[kind](random.Random(f"{kind}:{seed}")).encode()
        redacted, findings = redactor.redact(text)
        assert findings == [], (kind, seed, findings)
        assert redacted == text


def test_mixed_benign_document(redactor: Redactor) -> None:
    rng = random.Random(3)
    text = "".join(gen(rng) for gen in GENERATORS.values()).encode()
    assert redactor.redact(text) == (text, [])


def test_secret_next_to_benign_structure_is_still_found(redactor: Redactor) -> None:
    token = "gh" + "p_" + "a1B2" * 9
    text = f'"integrity": "sha512-{"Q" * 86}==", "token": "{token}"'.encode()
    assert [f.detector for f in redactor.scan(text)] == ["github_pat"]


@pytest.mark.parametrize(
    ("content_type", "binary"),
    [
        ("image/png", True),
        ("application/octet-stream", True),
        ("application/zip", True),
        ("application/gzip", True),
        ("application/pdf", True),
        ("font/woff2", True),
        ("application/vnd.oci.image.layer.v1.tar+gzip", True),
        ("text/plain; charset=utf-8", False),
        ("application/json", False),
        ("application/vnd.github+json", False),
        ("image/svg+xml", False),
        ("application/x-www-form-urlencoded", False),
        ("multipart/form-data; boundary=x", False),
        ("application/x-unknown", False),
        ("", False),
    ],
)
def test_is_binary_content_type(content_type: str, binary: bool) -> None:
    assert is_binary_content_type(content_type) is binary


def test_redaction_markers_are_never_redacted_again() -> None:
    from gateway.redaction import Redactor

    redactor = Redactor(b"k" * 32)
    for text in (
        b"authorization: Basic [REDACTED:known_secret:fp=8c534926]",
        b"password=[REDACTED:keyword_secret:fp=12345678]",
        b"GET /x?token=%5BREDACTED:github_pat:fp=1a2b3c4d%5D",
    ):
        assert redactor.redact(text) == (text, [])


def test_credential_placeholders_are_not_secrets() -> None:
    from gateway.credentials.placeholder import make_placeholder
    from gateway.redaction import Redactor

    redactor = Redactor(b"k" * 32)
    for shape in ("sk-proj-" + "a" * 60, "ghp_" + "b" * 36, "xoxb-1-2-" + "c" * 24):
        text = f"Authorization: Bearer {make_placeholder(shape)}\n".encode()
        assert redactor.redact(text) == (text, [])
