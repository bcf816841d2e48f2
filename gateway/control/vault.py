"""Encryption at rest for secret values: AES-256-GCM under a master key.

The master key is ``AIRLOCK_MASTER_KEY`` (base64 of 32 bytes) if set, else
``$AIRLOCK_HOME/master.key`` (32 random bytes, 0600, created once). The value's
name is bound as associated data, so a ciphertext cannot be moved to another name.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.errors import ConfigError
from gateway.keyfile import load_or_create_key

NONCE_BYTES = 12


class VaultError(ConfigError):
    code = "vault_error"


def load_master_key(home: Path, env_value: str | None = None) -> bytes:
    if env_value:
        try:
            key = base64.b64decode(env_value, validate=True)
        except binascii.Error:
            raise VaultError("AIRLOCK_MASTER_KEY is not valid base64") from None
        if len(key) != 32:
            raise VaultError(f"AIRLOCK_MASTER_KEY must decode to 32 bytes, not {len(key)}")
        return key
    try:
        return load_or_create_key(home / "master.key")
    except ConfigError as exc:
        raise VaultError(str(exc)) from None


class Vault:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "Vault(<key hidden>)"

    def seal(self, name: str, plaintext: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, name.encode())

    def open(self, name: str, sealed: bytes) -> bytes:
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], name.encode())
        except InvalidTag:
            raise VaultError(f"secret {name!r} does not decrypt with this master key") from None
