"""Ed25519 signatures over audit chain heads (checkpoints).

The signing key is 32 random bytes (an Ed25519 seed) in ``$AIRLOCK_HOME``, 0600,
created on first use; or a key supplied externally (``audit_signing_key_file``,
raw 32 bytes or a PKCS#8 PEM). Its public half is published by
``airlock audit pubkey`` and ``GET /v1/audit/pubkey``; verifiers pin it.

What a checkpoint signs is the RFC 8785 form of::

    {"type": "airlock-checkpoint/1", "stream": S, "head_seq": N,
     "head_hash": H, "ts": T, "final": bool}
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gateway.audit.canonical import canonical_json
from gateway.errors import ConfigError
from gateway.keyfile import load_or_create_key

CHECKPOINT_TYPE = "airlock-checkpoint/1"


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def load_public_pem(text: str | bytes) -> Ed25519PublicKey:
    data = text.encode() if isinstance(text, str) else text
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise ConfigError(f"not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError("the audit public key must be Ed25519")
    return key


class Signer:
    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = private.public_key()
        self.key_id = key_id(self.public)

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self._private.sign(message)).decode()

    def public_pem(self) -> str:
        return public_pem(self.public)


def load_signer(path: Path, *, create: bool = True) -> Signer:
    """The signing key at ``path``: raw 32-byte seed (created if missing) or PKCS#8 PEM."""
    if not path.exists() and not create:
        raise ConfigError(f"audit signing key {path} does not exist")
    if path.exists() and path.read_bytes().lstrip().startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:  # TypeError: encrypted
            raise ConfigError(f"audit signing key {path}: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(f"audit signing key {path} must be Ed25519")
        return Signer(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    return Signer(Ed25519PrivateKey.from_private_bytes(load_or_create_key(path, 32)))


def checkpoint_message(stream: str, head_seq: int, head_hash: str, ts: str, final: bool) -> bytes:
    return canonical_json(
        {
            "type": CHECKPOINT_TYPE,
            "stream": stream,
            "head_seq": head_seq,
            "head_hash": head_hash,
            "ts": ts,
            "final": final,
        }
    )


def verify_signature(public: Ed25519PublicKey, message: bytes, signature_b64: str) -> bool:
    try:
        public.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True
