"""A real Debian ``rsyslogd`` in the foreground: TLS (gtls) syslog on loopback, into a file.

``imtcp`` with the GnuTLS stream driver in TLS-only mode; octet-counted framing is
on (rsyslog's default for imtcp). Every message is written as rsyslog's own JSON view
(``%jsonmesg%``: msgid, structured-data, msg, ...) to ``out.jsonl``, so a test reads
back what rsyslog parsed, not what was sent. ``client_peer`` switches to mutual TLS
(``x509/name``): only a client certificate with that name is accepted.
Needs ``apt-get install rsyslog rsyslog-gnutls``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Self

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.tls import TestCA

SD_EVENT_ID = re.compile(r'event_id="([0-9a-f-]{36})"')


def rsyslogd() -> str | None:
    return shutil.which("rsyslogd") or (
        "/usr/sbin/rsyslogd" if Path("/usr/sbin/rsyslogd").exists() else None
    )


def issue_client_cert(ca: TestCA, dir: Path, name: str) -> tuple[Path, Path]:
    """A clientAuth certificate for ``name`` (CN and DNS SAN), signed by ``ca``."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    dir.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = dir / f"{name}.pem", dir / f"{name}-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Rsyslog:
    def __init__(self, root: Path, ca: TestCA, *, client_peer: str | None = None) -> None:
        binary = rsyslogd()
        if binary is None:
            raise RuntimeError("rsyslogd not found: apt-get install rsyslog rsyslog-gnutls")
        self.binary, self.root, self.port = binary, root, _free_port()
        self.out = root / "out.jsonl"
        self.log = root / "rsyslogd.log"
        (root / "work").mkdir(parents=True, exist_ok=True)
        cert, key = ca.issue(root / "certs", stem="rsyslog")
        auth = f'"x509/name" PermittedPeer=["{client_peer}"]' if client_peer else '"anon"'
        self.conf = root / "rsyslog.conf"
        self.conf.write_text(
            f"""global(workDirectory="{root / "work"}"
  DefaultNetstreamDriver="gtls"
  DefaultNetstreamDriverCAFile="{ca.cert_path}"
  DefaultNetstreamDriverCertFile="{cert}"
  DefaultNetstreamDriverKeyFile="{key}")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1"
       StreamDriver.AuthMode={auth})
input(type="imtcp" port="{self.port}" address="127.0.0.1")
template(name="airlock_json" type="string" string="%jsonmesg%\\n")
action(type="omfile" file="{self.out}" template="airlock_json" flushOnTXEnd="on")
"""
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20) -> Self:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, "-n", "-f", str(self.conf), "-i", str(self.root / "rsyslogd.pid")],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"rsyslogd exited: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("rsyslogd did not listen in time")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def messages(self) -> list[dict[str, Any]]:
        if not self.out.exists():
            return []
        lines = self.out.read_text().split("\n")[:-1]  # the last may be half written
        return [json.loads(line) for line in lines if line.strip()]

    def event_ids(self) -> list[str]:
        """The event id of each message, from the SD element as rsyslog parsed it."""
        out = []
        for message in self.messages():
            found = SD_EVENT_ID.search(message.get("structured-data") or "")
            out.append(found.group(1) if found else "")
        return out
