"""The key behind secret fingerprints, kept in ``$AIRLOCK_HOME``."""

from __future__ import annotations

import os
import secrets

from gateway.config import Settings
from gateway.errors import ConfigError


def fingerprint_key(settings: Settings) -> bytes:
    """The HMAC key behind secret fingerprints (32 random bytes, 0600, made once).

    Fingerprints are comparable only under the same key: keep it with the audit data.
    """
    path = settings.home_dir / "fingerprint.key"
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        key = path.read_bytes()
        if len(key) != 32:
            raise ConfigError(f"{path} must hold exactly 32 bytes, found {len(key)}") from None
        return key
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key
