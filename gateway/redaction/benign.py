"""Benign structures that look random but are never secrets, and binary content types.

Benign structures are found like secrets (anchored regexes) but as *shields*: a candidate that
overlaps a shield is dropped, unless it is an operator-registered known secret.
"""

from __future__ import annotations

import re

from gateway.redaction.detector import Anchor
from gateway.redaction.finding import RANK_SHIELD
from gateway.redaction.regex_detector import RegexRule


def _a(*literals: str, nocase: bool = False) -> tuple[Anchor, ...]:
    return tuple(Anchor(lit.encode(), nocase) for lit in literals)


_SSH_TYPES = (
    rb"(?:ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp\d{3}|sk-ssh-ed25519@openssh\.com"
    rb"|sk-ecdsa-sha2-nistp256@openssh\.com)"
)

SHIELD_RULES: tuple[RegexRule, ...] = (
    RegexRule(
        "benign_sri_hash",
        _a("sha1-", "sha256-", "sha384-", "sha512-"),
        re.compile(rb"sha(?:1|256|384|512)-[A-Za-z0-9+/]{20,}={0,2}"),
        after=120,
        rank=RANK_SHIELD,
    ),
    RegexRule(
        "benign_hex_digest",
        _a("sha1:", "sha256:", "sha384:", "sha512:", "md5:"),
        re.compile(rb"(?:sha(?:1|256|384|512)|md5):[A-Fa-f0-9]{32,128}"),
        after=140,
        rank=RANK_SHIELD,
    ),
    RegexRule(
        "benign_go_sum",
        _a("h1:"),
        re.compile(rb"h1:[A-Za-z0-9+/]{43}="),
        after=48,
        rank=RANK_SHIELD,
    ),
    RegexRule(
        "benign_ssh_public_key",
        _a("ssh-ed25519 ", "ssh-rsa ", "ssh-dss ", "ecdsa-sha2-", "sk-ssh-", "sk-ecdsa-"),
        re.compile(_SSH_TYPES + rb" AAAA[A-Za-z0-9+/]{16,8000}={0,3}"),
        after=8200,
        rank=RANK_SHIELD,
    ),
    RegexRule(
        "benign_public_block",
        _a("-----BEGIN "),
        re.compile(
            rb"-----BEGIN (PGP PUBLIC KEY BLOCK|PGP SIGNATURE|PUBLIC KEY|RSA PUBLIC KEY"
            rb"|CERTIFICATE|CERTIFICATE REQUEST)-----.{0,16000}?-----END \1-----",
            re.DOTALL,
        ),
        after=16400,
        rank=RANK_SHIELD,
    ),
    RegexRule(
        # Airlock's own redaction markers: text that was redacted once (an upstream
        # echoing a redacted request, an agent resending it) is not redacted again.
        "benign_redaction_marker",
        _a("[redacted:", "%5bredacted:", nocase=True),
        re.compile(rb"(?:\[|%5[Bb])REDACTED:[a-z0-9_]{1,64}:fp=[0-9a-f]{8}(?:\]|%5[Dd])"),
        after=100,
        rank=RANK_SHIELD,
    ),
    RegexRule(
        # Credential placeholders (gateway/credentials/placeholder.py): worthless outside
        # Airlock, swapped for the real value by the proxy after this scan.
        "benign_airlock_placeholder",
        _a("AIRLOCKPH"),
        re.compile(rb"[A-Za-z0-9_-]{0,24}AIRLOCKPH[A-Za-z0-9]{12,512}"),
        before=24,
        after=530,
        rank=RANK_SHIELD,
    ),
    RegexRule(
        "benign_data_uri",
        _a("data:image/", "data:font/", nocase=True),
        re.compile(rb"(?i:data:(?:image|font)/[a-z0-9.+-]+;base64,)[A-Za-z0-9+/]{1,16000}={0,2}"),
        after=16100,
        rank=RANK_SHIELD,
    ),
)

_TEXT_APPLICATION = (
    "json",
    "xml",
    "javascript",
    "ecmascript",
    "x-www-form-urlencoded",
    "yaml",
    "x-yaml",
    "toml",
    "graphql",
    "x-ndjson",
    "x-sh",
    "sql",
    "x-httpd-php",
)
_BINARY_TOP = ("image", "audio", "video", "font")
_BINARY_APPLICATION = (
    "octet-stream",
    "zip",
    "gzip",
    "x-gzip",
    "x-tar",
    "x-bzip2",
    "x-xz",
    "zstd",
    "pdf",
    "wasm",
    "x-protobuf",
    "protobuf",
    "vnd.google.protobuf",
    "grpc",
    "x-msgpack",
    "msgpack",
    "cbor",
    "java-archive",
    "x-7z-compressed",
    "vnd.docker.image.rootfs.diff.tar.gzip",
    "vnd.oci.image.layer.v1.tar+gzip",
)


def is_binary_content_type(content_type: str) -> bool:
    """True for media types whose bodies are binary and should not be scanned as text.

    Unknown types are treated as text (scanned): when unsure, scanning is the safe choice.
    """
    media = content_type.split(";", 1)[0].strip().lower()
    top, _, sub = media.partition("/")
    if top == "text" or sub.endswith(("+json", "+xml", "+yaml")) or media == "image/svg+xml":
        return False
    if top in _BINARY_TOP:
        return True
    if top == "application":
        return sub not in _TEXT_APPLICATION and (
            sub in _BINARY_APPLICATION or sub.endswith(("+zip", "+gzip", "+tar", "+proto"))
        )
    return False
