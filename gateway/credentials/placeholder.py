"""Placeholders: what a task holds instead of a credential.

A placeholder keeps the real value's recognisable prefix (``ghp_``, ``sk-proj-``,
``AKIA``...) and length where it can, so client libraries accept it, and carries the
marker ``AIRLOCKPH`` so the proxy finds it cheaply and the secret detectors know it
is not a secret. It is worthless outside Airlock: only the proxy maps it, for its
task, to the real value.
"""

from __future__ import annotations

import re
import secrets
import string

MARKER = "AIRLOCKPH"
_ALNUM = string.ascii_letters + string.digits
_PREFIX = re.compile(r"^(?:[A-Za-z]{2,8}[_-](?:[A-Za-z]{2,8}[_-])?|AKIA|ASIA)")
MIN_LENGTH = 32
PLACEHOLDER = re.compile(r"[A-Za-z0-9_-]{0,24}" + MARKER + r"[A-Za-z0-9]{12,}")


def make_placeholder(real_value: str) -> str:
    """A fresh placeholder shaped like ``real_value`` (prefix and length class)."""
    match = _PREFIX.match(real_value)
    prefix = match.group(0) if match else ""
    length = max(len(real_value), len(prefix) + len(MARKER) + 16, MIN_LENGTH)
    tail = length - len(prefix) - len(MARKER)
    alphabet = string.ascii_uppercase + string.digits if prefix in ("AKIA", "ASIA") else _ALNUM
    return prefix + MARKER + "".join(secrets.choice(alphabet) for _ in range(tail))


def find_placeholders(text: str) -> list[str]:
    """Every placeholder-shaped string in ``text`` (quick reject without the marker)."""
    if MARKER not in text:
        return []
    return PLACEHOLDER.findall(text)


def make_aws_placeholders() -> tuple[str, str]:
    """(access key id, secret access key) placeholders for an SDK that signs requests.

    The key id goes on the wire (in the SigV4 ``Credential=``), so it carries the
    marker; the secret never does (the SDK only signs with it).
    """
    key_id = (
        "AKIA"
        + MARKER
        + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(19))
    )
    secret = "".join(secrets.choice(_ALNUM) for _ in range(40))
    return key_id, secret
