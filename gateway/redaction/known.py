"""Known secrets: exact values Airlock manages or an operator registers, in encoded forms too.

Forms matched: raw, URL-encoded, JSON-escaped, and base64 (standard and URL-safe alphabet) at
each of the three byte alignments, so the value is found inside any base64 blob, including a
``Basic`` credential ``base64("user:" + value)``. A base64 hit is widened to the whole base64
token around it (bounded), because part of a base64 token cannot be redacted meaningfully.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

from gateway.redaction.detector import Anchor, Hits
from gateway.redaction.finding import RANK_KNOWN, Candidate

MIN_KNOWN_LENGTH = 4
MIN_BASE64_CORE = 8
MAX_WIDEN = 4096
_B64_LEFT = re.compile(rb"[A-Za-z0-9+/_-]{0,%d}$" % MAX_WIDEN)
_B64_RIGHT = re.compile(rb"[A-Za-z0-9+/_-]{0,%d}={0,2}" % MAX_WIDEN)


@dataclass(frozen=True)
class _Form:
    name: str
    value: bytes = field(repr=False)
    widen: bool


class KnownSecrets:
    """Registry and detector in one; registration is thread-safe and bumps ``version``."""

    name = "known_secret"
    rank = RANK_KNOWN

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forms: dict[bytes, list[_Form]] = {}
        self._anchors: tuple[Anchor, ...] = ()
        self.version = 0
        self.max_length = 0

    def __repr__(self) -> str:
        return f"KnownSecrets(forms={len(self._forms)})"

    def register(self, name: str, value: str) -> None:
        raw = value.encode("utf-8")
        if len(raw) < MIN_KNOWN_LENGTH:
            raise ValueError(f"known secret {name!r} is shorter than {MIN_KNOWN_LENGTH} bytes")
        with self._lock:
            forms = {k: list(v) for k, v in self._forms.items()}
            for literal, widen in _encodings(value, raw):
                entry = _Form(name, raw, widen)
                if entry not in forms.setdefault(literal, []):
                    forms[literal].append(entry)
            self._forms = forms
            self._anchors = tuple(Anchor(lit) for lit in forms)
            self.max_length = max(len(lit) for lit in forms) + 2 * MAX_WIDEN + 4
            self.version += 1

    @property
    def anchors(self) -> tuple[Anchor, ...]:
        return self._anchors

    def find(self, data: bytes, hits: Hits) -> Iterator[Candidate]:
        forms = self._forms
        for anchor, found in hits.items():
            entries = forms.get(anchor.literal) if not anchor.nocase else None
            if not entries:
                continue
            for pos in found:
                for entry in entries:
                    start, end = pos, pos + len(anchor.literal)
                    if entry.widen:
                        start, end = _widen(data, start, end)
                    yield Candidate(self.name, start, end, self.rank, entry.value, entry.name)


def _widen(data: bytes, start: int, end: int) -> tuple[int, int]:
    left = _B64_LEFT.search(data, max(0, start - MAX_WIDEN), start)
    right = _B64_RIGHT.match(data, end, min(len(data), end + MAX_WIDEN + 2))
    return (left.start() if left else start), (right.end() if right else end)


def _encodings(value: str, raw: bytes) -> Iterator[tuple[bytes, bool]]:
    yield raw, False
    for text in (
        quote(value, safe=""),
        quote_plus(value, safe=""),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        json.dumps(value)[1:-1].replace("/", "\\/"),
    ):
        if text.encode("utf-8") != raw:
            yield text.encode("utf-8"), False
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        for core in _base64_cores(raw, encode):
            yield core, True


def _base64_cores(raw: bytes, encode: Callable[[bytes], bytes]) -> Iterator[bytes]:
    """The part of base64(prefix + raw + suffix) that depends on ``raw`` only, per alignment."""
    for shift, skip in ((0, 0), (1, 2), (2, 3)):
        encoded = encode(b"\0" * shift + raw)
        stable = (shift + len(raw)) * 8 // 6
        core = encoded[skip:stable]
        if len(core) >= MIN_BASE64_CORE:
            yield core
