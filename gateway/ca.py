"""The per-installation interception CA and the upstream trust bundle.

Written in the file layout mitmproxy reads from its confdir
(``mitmproxy-ca.pem`` = key + certificate, ``mitmproxy-ca-cert.pem``), so the
proxy loads it and sandboxes trust ``mitmproxy-ca-cert.pem``. Created once, 0600.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import certifi
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def ensure_ca(ca_dir: Path, common_name: str = "Airlock interception CA") -> Path:
    """Create the CA on first use; return the public certificate path."""
    ca_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(ca_dir, 0o700)
    key_file, cert_file = ca_dir / "mitmproxy-ca.pem", ca_dir / "mitmproxy-ca-cert.pem"
    if key_file.exists() and cert_file.exists():
        return cert_file
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Airlock"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=2))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    _write(key_file, key_pem + cert_pem, 0o600)
    _write(cert_file, cert_pem, 0o644)
    return cert_file


def upstream_trust_bundle(home: Path, extra_ca: Path | None) -> Path:
    """System roots (certifi) plus the operator's extra upstream CA, if any."""
    bundle = home / "upstream-trust.pem"
    data = Path(certifi.where()).read_bytes()
    if extra_ca is not None:
        data += b"\n" + extra_ca.read_bytes()
    _write(bundle, data, 0o644)
    return bundle


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
