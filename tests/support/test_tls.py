"""Tests for tests.support.tls."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.support.tls import make_ca, server_context


def test_ca_and_server_cert_fields(tmp_path: Path) -> None:
    ca = make_ca(tmp_path / "ca")
    assert ca.cert_path.is_file()
    cert_path, key_path = ca.issue(tmp_path / "srv")
    assert key_path.stat().st_mode & 0o077 == 0
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert set(sans.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    now = dt.datetime.now(dt.UTC)
    assert cert.not_valid_before_utc <= now - dt.timedelta(hours=23)
    assert now + dt.timedelta(days=29) <= cert.not_valid_after_utc <= now + dt.timedelta(days=31)
    assert cert.issuer == ca.cert.subject
    cert.verify_directly_issued_by(ca.cert)


def test_issue_custom_names(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    cert_path, _ = ca.issue(tmp_path, names=["a.test", "b.test"], ips=[], stem="ab")
    assert cert_path.name == "ab.pem"
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["a.test", "b.test"]


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_strict_tls_handshake(tmp_path: Path, host: str) -> None:
    """A stdlib client trusting only the CA verifies the cert (X509 strict mode)."""
    ca = make_ca(tmp_path)
    sctx = server_context(ca.issue(tmp_path))
    with socket.create_server(("127.0.0.1", 0)) as lsock:
        port = lsock.getsockname()[1]

        def serve() -> None:
            conn, _ = lsock.accept()
            with sctx.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(b"ok")

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        cctx = ca.client_context()
        cctx.verify_flags |= ssl.VERIFY_X509_STRICT
        with socket.create_connection(("127.0.0.1", port)) as raw:
            with cctx.wrap_socket(raw, server_hostname=host) as tls:
                assert tls.recv(2) == b"ok"
        t.join(5)


def test_other_ca_rejected(tmp_path: Path) -> None:
    ca, other = make_ca(tmp_path / "a"), make_ca(tmp_path / "b")
    sctx = server_context(ca.issue(tmp_path / "a"))
    with socket.create_server(("127.0.0.1", 0)) as lsock:
        port = lsock.getsockname()[1]

        def serve() -> None:
            conn, _ = lsock.accept()
            try:
                sctx.wrap_socket(conn, server_side=True).close()
            except (ssl.SSLError, OSError):
                conn.close()

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        with socket.create_connection(("127.0.0.1", port)) as raw:
            with pytest.raises(ssl.SSLCertVerificationError):
                other.client_context().wrap_socket(raw, server_hostname="localhost")
        t.join(5)
