"""Engine behaviour: markers, offsets, overlap resolution, fingerprints, odd input."""

from __future__ import annotations

import pytest

from gateway.redaction import Finding, Redactor, marker

TOKEN = "gh" + "p_" + "Qw3" * 12


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor(b"engine-test-key")


def test_marker_format() -> None:
    assert marker("github_pat", "1a2b3c4d5e6f7a8b") == b"[REDACTED:github_pat:fp=1a2b3c4d]"


def test_redact_keeps_every_other_byte(redactor: Redactor) -> None:
    text = f"before {TOKEN} after".encode()
    redacted, (finding,) = redactor.redact(text)
    assert redacted == b"before " + marker("github_pat", finding.fingerprint) + b" after"
    assert text[finding.start : finding.end] == TOKEN.encode()


def test_fingerprint_is_stable_and_keyed(redactor: Redactor) -> None:
    (a,) = redactor.scan(TOKEN.encode())
    (b,) = redactor.scan(f"again: {TOKEN}".encode())
    assert a.fingerprint == b.fingerprint == redactor.fingerprint(TOKEN.encode())
    assert len(a.fingerprint) == 16 and int(a.fingerprint, 16) >= 0
    (other,) = Redactor(b"another-key").scan(TOKEN.encode())
    assert other.fingerprint != a.fingerprint


def test_empty_key_refused() -> None:
    with pytest.raises(ValueError):
        Redactor(b"")


def test_most_specific_detector_wins(redactor: Redactor) -> None:
    (finding,) = redactor.scan(f'api_key = "{TOKEN}"'.encode())
    assert finding.detector == "github_pat"


def test_findings_sorted_and_disjoint(redactor: Redactor) -> None:
    aws = "AK" + "IA" + "Z" * 8 + "12345678"
    text = f"{TOKEN} {aws} password: hunter2x {TOKEN}".encode()
    findings = redactor.scan(text)
    assert [f.detector for f in findings] == [
        "github_pat",
        "aws_access_key_id",
        "keyword_secret",
        "github_pat",
    ]
    assert all(a.end <= b.start for a, b in zip(findings, findings[1:], strict=False))


def test_non_utf8_input_never_raises(redactor: Redactor) -> None:
    text = b"\xff\xfe\x00" + TOKEN.encode() + b"\x80\x81 password=\xc3\x28abc12"
    redacted, findings = redactor.redact(text)
    assert findings[0].start == 3 and redacted.startswith(b"\xff\xfe\x00[REDACTED:")


def test_offsets_are_byte_offsets(redactor: Redactor) -> None:
    text = ("é" * 10 + TOKEN).encode()
    (finding,) = redactor.scan(text)
    assert finding.start == 20


def test_custom_detector_stack() -> None:
    from gateway.redaction.keyword import KeywordDetector

    r = Redactor(b"k", detectors=[KeywordDetector()])
    assert r.scan(TOKEN.encode()) == []
    assert [f.detector for f in r.scan(b"password: s3cret!!")] == ["keyword_secret"]


def test_finding_repr_has_no_secret(redactor: Redactor) -> None:
    findings = redactor.scan(f"{TOKEN} password: Hunter2-xyz".encode())
    text = repr(findings) + str(findings)
    assert TOKEN not in text and "Hunter2" not in text
    assert isinstance(findings[0], Finding)


def test_code_references_are_not_secrets(redactor: Redactor) -> None:
    code = (
        b"password = getpass.getpass()\ntoken = self.token\nkey=lambda x: x\n"
        b"api_key: str = settings.api_key\nsecret = os.environ['SECRET']\n"
        b"password: ${{ secrets.DB_PASSWORD }}\nurl = 'https://user:${PASS}@host'\n"
        b"authorization = self.headers.get('authorization')\n"
        b"authorization = base64.decodebytes(authorization)\n"
    )
    assert redactor.scan(code) == []


@pytest.mark.parametrize("key", ["secret_access_key", "SecretAccessKey", "secret_accessKey"])
def test_aws_secret_key_names_with_or_without_underscores(redactor: Redactor, key: str) -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY"
    (finding,) = redactor.scan(f"{key} = {secret}\n".encode())
    assert finding.detector == "aws_secret_access_key"


def test_keyword_after_a_long_name_prefix(redactor: Redactor) -> None:
    text = b"x = 1; service_account_primary_password = 'Zq8!vR2#mK9x'\n"
    (finding,) = redactor.scan(text)
    assert text[finding.start : finding.end] == b"Zq8!vR2#mK9x"
