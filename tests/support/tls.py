"""Throwaway X.509 material for loopback test upstreams.

``make_ca`` creates a short-lived EC P-256 certificate authority in a directory
chosen by the caller (normally a pytest ``tmp_path``); ``TestCA.issue`` signs
server certificates for it.  Nothing is created at import time, and keys only
ever live in the caller's temporary directory.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["ServerCert", "TestCA", "make_ca", "server_context"]

#: ``(cert_path, key_path)`` of a PEM server certificate and its private key.
ServerCert = tuple[Path, Path]

_VALID_FOR = dt.timedelta(days=30)
_BACKDATE = dt.timedelta(days=1)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Airlock test suite"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    path.chmod(0o600)


@dataclass
class TestCA:
    """A throwaway CA. ``cert_path`` is the PEM file clients should trust."""

    __test__ = False  # keep pytest from collecting this class

    cert_path: Path
    key_path: Path
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def issue(
        self,
        dir: Path,
        names: Sequence[str] = ("localhost",),
        ips: Sequence[str] = ("127.0.0.1", "::1"),
        *,
        stem: str | None = None,
    ) -> ServerCert:
        """Sign a server certificate (serverAuth, SANs = names + ips).

        Files are written as ``<stem>.pem`` / ``<stem>-key.pem`` in ``dir``;
        ``stem`` defaults to the first name.  Returns ``(cert_path, key_path)``.
        """
        dir = Path(dir)
        dir.mkdir(parents=True, exist_ok=True)
        names, ips = list(names), list(ips)
        if not names and not ips:
            raise ValueError("a server certificate needs at least one name or IP")
        stem = stem or (names[0] if names else ips[0]).replace(":", "_")
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        sans: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
        sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        ca_ski = self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(names[0] if names else ips[0]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + _VALID_FOR)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), False
            )
            .sign(self.key, hashes.SHA256())
        )
        cert_path, key_path = dir / f"{stem}.pem", dir / f"{stem}-key.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(key_path, key)
        return cert_path, key_path

    def client_context(self) -> ssl.SSLContext:
        """An ``ssl.SSLContext`` that trusts only this CA (for httpx etc.)."""
        return ssl.create_default_context(cafile=str(self.cert_path))


def make_ca(dir: Path, common_name: str = "Airlock Test CA") -> TestCA:
    """Create a new CA in ``dir`` (``ca.pem`` and ``ca-key.pem``)."""
    dir = Path(dir)
    dir.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    subject = _name(common_name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _VALID_FOR)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = dir / "ca.pem", dir / "ca-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key_path, key)
    return TestCA(cert_path=cert_path, key_path=key_path, cert=cert, key=key)


def server_context(cert: ServerCert) -> ssl.SSLContext:
    """A server-side ``ssl.SSLContext`` for ``(cert_path, key_path)``, HTTP/1.1 only."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx
