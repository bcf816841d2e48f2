"""Ed25519 checkpoint signing: key files, key ids, the signed message, verification."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import re
import stat
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from gateway.audit.canonical import canonical_json
from gateway.audit.signing import (
    CHECKPOINT_TYPE,
    Signer,
    checkpoint_message,
    key_id,
    load_public_pem,
    load_signer,
    public_pem,
    verify_signature,
)
from gateway.errors import ConfigError

VERIFIER = Path(__file__).resolve().parents[2] / "verifier" / "airlock_verify.py"
HEAD = "ab" * 32


def load_verifier() -> ModuleType:
    spec = importlib.util.spec_from_file_location("airlock_verify_for_signing", VERIFIER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pkcs8(key: PrivateKeyTypes, password: bytes | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def raw_public(signer: Signer) -> bytes:
    return signer.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


# --- key files -------------------------------------------------------------


def test_key_is_created_0600_on_first_use(tmp_path: Path) -> None:
    path = tmp_path / "home" / "audit-signing.key"
    signer = load_signer(path)
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_bytes()) == 32
    expected = Ed25519PrivateKey.from_private_bytes(path.read_bytes()).public_key()
    assert signer.key_id == key_id(expected)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left over


def test_key_is_stable_across_loads(tmp_path: Path) -> None:
    path = tmp_path / "audit-signing.key"
    first = load_signer(path)
    content = path.read_bytes()
    second = load_signer(path)
    third = load_signer(path, create=False)
    assert path.read_bytes() == content
    assert first.key_id == second.key_id == third.key_id
    assert raw_public(first) == raw_public(second) == raw_public(third)
    message = b"checkpoint"
    assert verify_signature(third.public, message, first.sign(message))


def test_create_false_on_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "missing.key"
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        load_signer(path, create=False)
    assert not path.exists()


def test_raw_key_of_the_wrong_size_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "short.key"
    path.write_bytes(b"\x01" * 31)
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        load_signer(path)
    assert path.read_bytes() == b"\x01" * 31  # never overwritten


def test_external_pkcs8_pem_is_used(tmp_path: Path) -> None:
    private = Ed25519PrivateKey.generate()
    path = tmp_path / "external.pem"
    path.write_bytes(pkcs8(private))
    signer = load_signer(path, create=False)
    assert signer.key_id == key_id(private.public_key())
    signature = signer.sign(b"m")
    private.public_key().verify(base64.b64decode(signature), b"m")  # raises if wrong
    assert path.read_bytes() == pkcs8(private)


def test_external_pem_with_leading_whitespace_is_used(tmp_path: Path) -> None:
    private = Ed25519PrivateKey.generate()
    path = tmp_path / "external.pem"
    path.write_bytes(b"\n  " + pkcs8(private))
    assert load_signer(path).key_id == key_id(private.public_key())


@pytest.mark.parametrize(
    "make",
    [
        lambda: ec.generate_private_key(ec.SECP256R1()),
        lambda: x25519.X25519PrivateKey.generate(),  # 32 bytes too, but not a signing key
    ],
    ids=["ec-p256", "x25519"],
)
def test_non_ed25519_pem_is_refused_naming_the_file(
    tmp_path: Path, make: Callable[[], PrivateKeyTypes]
) -> None:
    path = tmp_path / "wrong-kind.pem"
    path.write_bytes(pkcs8(make()))
    with pytest.raises(ConfigError, match=re.escape(str(path)) + ".*Ed25519"):
        load_signer(path)


def test_encrypted_pem_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "encrypted.pem"
    path.write_bytes(pkcs8(Ed25519PrivateKey.generate(), password=b"run-time-passphrase"))
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        load_signer(path)


@pytest.mark.parametrize(
    "content",
    [
        b"-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ],
    ids=["garbage-body", "not-a-private-key"],
)
def test_broken_pem_is_a_config_error_naming_the_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.pem"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        load_signer(path)


# --- key ids and public keys -----------------------------------------------


def test_key_id_is_16_hex_of_the_public_key_hash() -> None:
    public = Ed25519PrivateKey.generate().public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    kid = key_id(public)
    assert re.fullmatch(r"[0-9a-f]{16}", kid)
    assert kid == hashlib.sha256(raw).hexdigest()[:16]
    assert key_id(Ed25519PrivateKey.from_private_bytes(b"\x07" * 32).public_key()) == key_id(
        Ed25519PrivateKey.from_private_bytes(b"\x07" * 32).public_key()
    )
    assert key_id(Ed25519PrivateKey.generate().public_key()) != kid


def test_key_id_matches_the_standalone_verifier() -> None:
    public = Ed25519PrivateKey.generate().public_key()
    assert load_verifier().key_id(public) == key_id(public)


def test_public_pem_round_trips(tmp_path: Path) -> None:
    signer = load_signer(tmp_path / "k")
    text = signer.public_pem()
    assert text.startswith("-----BEGIN PUBLIC KEY-----")
    assert text == public_pem(signer.public)
    assert key_id(load_public_pem(text)) == signer.key_id
    assert key_id(load_public_pem(text.encode())) == signer.key_id


def test_load_public_pem_refuses_other_keys_and_garbage() -> None:
    ec_public = ec.generate_private_key(ec.SECP256R1()).public_key()
    ec_pem = ec_public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(ConfigError, match="Ed25519"):
        load_public_pem(ec_pem)
    with pytest.raises(ConfigError, match="PEM"):
        load_public_pem("not a key")
    with pytest.raises(ConfigError):
        load_public_pem(pkcs8(Ed25519PrivateKey.generate()))  # a private key is not accepted


# --- the signed message ----------------------------------------------------


def test_checkpoint_message_is_canonical_json_of_the_documented_fields() -> None:
    message = checkpoint_message("gw-1/0", 42, HEAD, "2024-05-01T12:00:00.000000Z", True)
    assert message == (
        b'{"final":true,"head_hash":"' + HEAD.encode() + b'","head_seq":42,'
        b'"stream":"gw-1/0","ts":"2024-05-01T12:00:00.000000Z","type":"airlock-checkpoint/1"}'
    )
    assert json.loads(message) == {
        "type": CHECKPOINT_TYPE,
        "stream": "gw-1/0",
        "head_seq": 42,
        "head_hash": HEAD,
        "ts": "2024-05-01T12:00:00.000000Z",
        "final": True,
    }
    assert canonical_json(json.loads(message)) == message


def test_checkpoint_message_distinguishes_every_field() -> None:
    ts = "2024-05-01T00:00:00.000000Z"
    messages = [
        checkpoint_message("s", 1, HEAD, ts, False),
        checkpoint_message("t", 1, HEAD, ts, False),
        checkpoint_message("s", 2, HEAD, ts, False),
        checkpoint_message("s", 1, "cd" * 32, ts, False),
        checkpoint_message("s", 1, HEAD, "2024-05-01T00:00:00.000001Z", False),
        checkpoint_message("s", 1, HEAD, ts, True),
    ]
    assert len(set(messages)) == len(messages)


def test_checkpoint_message_matches_what_the_standalone_verifier_rebuilds() -> None:
    verifier = load_verifier()
    for final in (True, False):
        ours = checkpoint_message("gw/1", 7, HEAD, "2024-05-01T00:00:00.000000Z", final)
        theirs = verifier.jcs(
            {
                "type": "airlock-checkpoint/1",
                "stream": "gw/1",
                "head_seq": 7,
                "head_hash": HEAD,
                "ts": "2024-05-01T00:00:00.000000Z",
                "final": final,
            }
        )
        assert theirs.encode("utf-8") == ours


# --- verification ----------------------------------------------------------


@pytest.fixture()
def signed(tmp_path: Path) -> tuple[Signer, bytes, str]:
    signer = load_signer(tmp_path / "audit-signing.key")
    message = checkpoint_message("s", 3, HEAD, "2024-05-01T00:00:00.000000Z", False)
    return signer, message, signer.sign(message)


def test_signature_is_base64_of_64_bytes(signed: tuple[Signer, bytes, str]) -> None:
    _, _, signature = signed
    assert len(base64.b64decode(signature, validate=True)) == 64


def test_verify_signature_with_the_right_key(signed: tuple[Signer, bytes, str]) -> None:
    signer, message, signature = signed
    assert verify_signature(signer.public, message, signature) is True
    assert verify_signature(load_public_pem(signer.public_pem()), message, signature) is True


def test_verify_signature_with_another_key(signed: tuple[Signer, bytes, str]) -> None:
    _, message, signature = signed
    other = Ed25519PrivateKey.generate().public_key()
    assert verify_signature(other, message, signature) is False


def test_verify_signature_of_an_altered_message(signed: tuple[Signer, bytes, str]) -> None:
    signer, message, signature = signed
    altered = message.replace(b'"head_seq":3', b'"head_seq":4')
    assert altered != message
    assert verify_signature(signer.public, altered, signature) is False
    assert verify_signature(signer.public, message + b" ", signature) is False


def test_verify_signature_of_an_altered_signature(signed: tuple[Signer, bytes, str]) -> None:
    signer, message, signature = signed
    raw = bytearray(base64.b64decode(signature))
    raw[0] ^= 1
    assert verify_signature(signer.public, message, base64.b64encode(bytes(raw)).decode()) is False


@pytest.mark.parametrize(
    "garbage",
    ["", "not base64!!", "@@@@", "QUJD", "QUJDRA=", "é"],
    ids=["empty", "punctuation", "symbols", "short-valid-b64", "bad-padding", "non-ascii"],
)
def test_verify_signature_of_garbage_is_false(
    signed: tuple[Signer, bytes, str], garbage: str
) -> None:
    signer, message, _ = signed
    assert verify_signature(signer.public, message, garbage) is False


def test_verify_signature_rejects_a_signature_with_junk_around_it(
    signed: tuple[Signer, bytes, str],
) -> None:
    signer, message, signature = signed
    assert verify_signature(signer.public, message, signature + "!") is False
    assert verify_signature(signer.public, message, " " + signature) is False
