"""What the engine reports: findings, and the marker that replaces a secret."""

from __future__ import annotations

from dataclasses import dataclass, field

# Lower rank wins when candidates overlap: operator-registered values beat provider formats,
# which beat structural rules, which beat keyword/entropy heuristics.
RANK_KNOWN = 0
RANK_PROVIDER = 1
RANK_STRUCTURE = 2
RANK_HEURISTIC = 3
# Benign structures (integrity hashes, public keys...) shield heuristic candidates.
RANK_SHIELD = -1


@dataclass(frozen=True)
class Finding:
    """One secret found in scanned bytes. Never holds the secret itself."""

    detector: str
    start: int
    end: int
    fingerprint: str
    known_name: str = ""


@dataclass(frozen=True)
class Candidate:
    """A detector's raw hit, internal to the engine; the secret is excluded from repr."""

    detector: str
    start: int
    end: int
    rank: int
    secret: bytes = field(repr=False)
    known_name: str = ""

    def __str__(self) -> str:
        return repr(self)

    @property
    def length(self) -> int:
        return self.end - self.start


def marker(detector: str, fingerprint: str) -> bytes:
    """The bytes that replace a redacted secret: ``[REDACTED:<detector>:fp=<8 hex>]``."""
    return f"[REDACTED:{detector}:fp={fingerprint[:8]}]".encode("ascii")
