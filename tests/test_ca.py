"""The interception CA (mitmproxy confdir layout) and the upstream trust bundle."""

from __future__ import annotations

import stat
from pathlib import Path

import certifi
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from gateway.ca import ensure_ca, upstream_trust_bundle


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def ca_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One CA for the module: RSA key generation is the slow part."""
    directory = tmp_path_factory.mktemp("home") / "ca"
    ensure_ca(directory)
    return directory


def test_ensure_ca_returns_the_public_cert(ca_dir: Path) -> None:
    assert ensure_ca(ca_dir) == ca_dir / "mitmproxy-ca-cert.pem"


def test_ca_certificate_is_a_ca(ca_dir: Path) -> None:
    cert = x509.load_pem_x509_certificate((ca_dir / "mitmproxy-ca-cert.pem").read_bytes())
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca is True
    assert constraints.value.path_length == 0
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    assert cert.subject == cert.issuer
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == "Airlock interception CA"
    assert cert.not_valid_before_utc < cert.not_valid_after_utc


def test_key_file_holds_matching_key_and_cert(ca_dir: Path) -> None:
    data = (ca_dir / "mitmproxy-ca.pem").read_bytes()
    assert b"PRIVATE KEY" in data
    key = serialization.load_pem_private_key(data, password=None)
    cert = x509.load_pem_x509_certificate(data)
    public = (ca_dir / "mitmproxy-ca-cert.pem").read_bytes()
    assert b"PRIVATE KEY" not in public
    assert cert == x509.load_pem_x509_certificate(public)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()  # type: ignore[union-attr]


def test_file_modes(ca_dir: Path) -> None:
    assert _mode(ca_dir / "mitmproxy-ca.pem") == 0o600
    assert _mode(ca_dir) == 0o700
    assert not list(ca_dir.glob("*.tmp"))


def test_ensure_ca_is_idempotent(ca_dir: Path) -> None:
    key_before = (ca_dir / "mitmproxy-ca.pem").read_bytes()
    cert_before = (ca_dir / "mitmproxy-ca-cert.pem").read_bytes()
    ensure_ca(ca_dir)
    assert (ca_dir / "mitmproxy-ca.pem").read_bytes() == key_before
    assert (ca_dir / "mitmproxy-ca-cert.pem").read_bytes() == cert_before


def test_ensure_ca_custom_common_name(tmp_path: Path) -> None:
    cert_path = ensure_ca(tmp_path / "nested" / "ca", common_name="Test CA 42")
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == "Test CA 42"


def test_trust_bundle_without_extra_is_certifi(tmp_path: Path) -> None:
    bundle = upstream_trust_bundle(tmp_path, None)
    assert bundle == tmp_path / "upstream-trust.pem"
    assert bundle.read_bytes() == Path(certifi.where()).read_bytes()


def test_trust_bundle_adds_extra_ca(tmp_path: Path, ca_dir: Path) -> None:
    extra = (ca_dir / "mitmproxy-ca-cert.pem").read_bytes()
    bundle = upstream_trust_bundle(tmp_path, ca_dir / "mitmproxy-ca-cert.pem")
    data = bundle.read_bytes()
    assert data.startswith(Path(certifi.where()).read_bytes())
    assert data.endswith(extra)
    roots = Path(certifi.where()).read_bytes().count(b"-----BEGIN CERTIFICATE-----")
    assert roots > 100
    assert data.count(b"-----BEGIN CERTIFICATE-----") == roots + 1


def test_trust_bundle_is_rewritten(tmp_path: Path, ca_dir: Path) -> None:
    upstream_trust_bundle(tmp_path, ca_dir / "mitmproxy-ca-cert.pem")
    bundle = upstream_trust_bundle(tmp_path, None)
    assert bundle.read_bytes() == Path(certifi.where()).read_bytes()
