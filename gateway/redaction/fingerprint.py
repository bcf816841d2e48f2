"""Keyed fingerprints: a secret's identity without its value."""

from __future__ import annotations

import hashlib
import hmac

FINGERPRINT_HEX = 16


class Fingerprinter:
    """HMAC-SHA256 under an Airlock-held key, truncated to 16 hex characters."""

    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("fingerprint key must not be empty")
        self._key = key

    def __repr__(self) -> str:
        return "Fingerprinter(key=<hidden>)"

    def __call__(self, secret: bytes) -> str:
        digest = hmac.new(self._key, secret, hashlib.sha256).hexdigest()
        return digest[:FINGERPRINT_HEX]
