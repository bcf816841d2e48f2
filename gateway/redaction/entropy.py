"""Shannon entropy and "looks random" tests, applied only to values found in context."""

from __future__ import annotations

import math
from collections import Counter


def shannon(value: bytes) -> float:
    """Bits per byte of ``value``'s byte distribution."""
    if not value:
        return 0.0
    size = len(value)
    return -sum(n / size * math.log2(n / size) for n in Counter(value).values())


def mixed_alnum(value: bytes) -> bool:
    """Has a digit and a letter, or both letter cases: typical of generated tokens."""
    has_digit = any(48 <= b <= 57 for b in value)
    has_upper = any(65 <= b <= 90 for b in value)
    has_lower = any(97 <= b <= 122 for b in value)
    return (has_digit and (has_upper or has_lower)) or (has_upper and has_lower)


def random_token(value: bytes) -> bool:
    """A generated token: mixed character classes and entropy above plain words."""
    return mixed_alnum(value) and shannon(value) >= 3.0
