"""The key behind secret fingerprints, kept in ``$AIRLOCK_HOME``."""

from __future__ import annotations

from gateway.config import Settings
from gateway.keyfile import load_or_create_key


def fingerprint_key(settings: Settings) -> bytes:
    """The HMAC key behind secret fingerprints (32 random bytes, 0600, made once).

    Fingerprints are comparable only under the same key: keep it with the audit data.
    """
    return load_or_create_key(settings.home_dir / "fingerprint.key")
