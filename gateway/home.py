"""``$AIRLOCK_HOME``: created on first use with the CA and the operator key."""

from __future__ import annotations

import os

from gateway.ca import ensure_ca
from gateway.config import Settings
from gateway.fingerprint import fingerprint_key
from gateway.runtime import ControlPlane


def init_home(settings: Settings) -> None:
    home = settings.home_dir
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    ensure_ca(settings.ca_dir)
    fingerprint_key(settings)


def operator_key(settings: Settings, control: ControlPlane) -> str:
    """The local admin key the CLI uses (created once, stored 0600 in the home)."""
    path = settings.operator_key_path
    if path.exists():
        return path.read_text().strip()
    _, key = control.keys.create(role="admin", tenant="*", name="operator (local CLI)")
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key
