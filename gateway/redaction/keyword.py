"""Secrets identified by their context: ``password: x``, ``api_key=x``, ``Authorization: ...``.

This is the only place entropy is used, and only on a value that a keyword or header name
introduces; bare strings are never judged by entropy.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from gateway.redaction.detector import Anchor, Hits, positions
from gateway.redaction.entropy import random_token, shannon
from gateway.redaction.finding import RANK_HEURISTIC, Candidate

_PASSWORD_WORDS = (b"pass", b"pwd", b"secret", b"credential")
_KEYWORDS = (b"pass", b"pwd", b"secret", b"token", b"key", b"credential")

_KEYWORD_RE = re.compile(
    rb"(?<![A-Za-z0-9_.-])(?P<key>[A-Za-z0-9_.-]{0,40}?"
    rb"(?i:password|passwd|passphrase|pwd|secret|token|credentials?|key)[A-Za-z0-9_.-]{0,40})"
    rb"[\"']?[ \t]*(?::|=|:=|=>)[ \t]*"
    rb"(?:(?P<q>[\"'])(?P<qv>[^\"'\\\r\n]{4,200})(?P=q)|(?P<v>[^\s\"',;(){}\[\]<>`&|]{4,200}))"
)
# necessary for a match: the key runs on from the keyword to an assignment operator
_ASSIGN_AHEAD = re.compile(rb"[A-Za-z0-9_.-]*+[\"']?[ \t]*[:=]")
_NAME_RUN = re.compile(rb"[A-Za-z0-9_.-]+")
_KEY_REACH = 48  # how far before a keyword hit its key may start
_HEADER_RE = re.compile(
    rb"(?i:(?:proxy-)?authorization)[\"']?[ \t]*[:=][ \t]*[\"']?"
    rb"(?:(?P<scheme>(?i:basic|bearer|token|bot|digest))[ \t]+)?(?P<v>[A-Za-z0-9._~+/=-]{8,4096})"
)
_IDENTIFIER = re.compile(rb"[A-Za-z_]+(?:[.:-][A-Za-z_]+)*")
_DOTTED = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
_PLACEHOLDER_START = (b"$", b"{{", b"%(", b"<", b"[", b"*", b"xxx", b"XXX", b"...")
_PLACEHOLDERS = frozenset(
    b"none null nil true false undefined required optional string str bytes int password "
    b"secret token redacted changeme example your_password your_token".split()
)


def _plausible(value: bytes, password_like: bool) -> bool:
    if value.startswith(_PLACEHOLDER_START) or value.lower() in _PLACEHOLDERS:
        return False
    if _DOTTED.fullmatch(value):
        return False  # an attribute or module path: code, not a literal
    if _IDENTIFIER.fullmatch(value) and not _random_letters(value):
        return False  # a variable or type name, not a literal
    if password_like:
        return len(value) >= 4
    return len(value) >= 12 and random_token(value)


def _random_letters(value: bytes) -> bool:
    """Generated letters-only tokens: long, high entropy, upper case near half (not CamelCase)."""
    if len(value) < 20 or not value.isalpha() or shannon(value) < 3.5:
        return False
    upper = sum(1 for b in value if 65 <= b <= 90) / len(value)
    return 0.25 <= upper <= 0.75


class KeywordDetector:
    """``<name containing a keyword> <assignment> <value>``; reports the value."""

    name = "keyword_secret"
    rank = RANK_HEURISTIC

    def __repr__(self) -> str:
        return "KeywordDetector()"

    @property
    def anchors(self) -> tuple[Anchor, ...]:
        return tuple(Anchor(word, nocase=True) for word in _KEYWORDS)

    def find(self, data: bytes, hits: Hits) -> Iterator[Candidate]:
        seen: set[int] = set()
        for pos in positions(hits, self.anchors):
            match = _key_around(data, pos)
            if match is None:
                continue
            group = "qv" if match.start("qv") >= 0 else "v"
            start, end = match.span(group)
            if start in seen or not match.start("key") <= pos < match.end("key"):
                continue
            key = match.group("key").lower()
            value = data[start:end]
            if not _plausible(value, any(w in key for w in _PASSWORD_WORDS)):
                continue
            seen.add(start)
            yield Candidate(self.name, start, end, self.rank, value)


def _key_around(data: bytes, pos: int) -> re.Match[bytes] | None:
    """The assignment whose key holds the keyword at ``pos``, if there is one.

    A key is a run of name characters, so it can only start where the run around ``pos``
    starts; the assignment after the run is checked first because most hits in code and prose
    have none (``self.key)``, ``tokens``).
    """
    if _ASSIGN_AHEAD.match(data, pos) is None:
        return None
    lo = max(0, pos - _KEY_REACH)
    run = _NAME_RUN.match(data[lo:pos][::-1])  # the name characters just before ``pos``
    start = pos - (run.end() if run else 0)
    if start == lo and lo > 0 and _NAME_RUN.match(data, lo - 1, lo):
        return None  # the run is longer than any key can reach back
    return _KEYWORD_RE.match(data, start, min(len(data), pos + 320))


class AuthHeaderDetector:
    """``Authorization:`` header values (Basic, Bearer, raw), in headers, JSON or code."""

    name = "authorization_header"
    rank = RANK_HEURISTIC

    def __repr__(self) -> str:
        return "AuthHeaderDetector()"

    @property
    def anchors(self) -> tuple[Anchor, ...]:
        return (Anchor(b"authorization", nocase=True),)

    def find(self, data: bytes, hits: Hits) -> Iterator[Candidate]:
        for pos in positions(hits, self.anchors):
            end = min(len(data), pos + 4200)
            match = _HEADER_RE.match(data, pos - 6, end) if pos >= 6 else None
            if match is None:
                match = _HEADER_RE.match(data, pos, end)
            if match is None:
                continue
            value = match.group("v")
            if match.start("scheme") >= 0 or _plausible(value, password_like=True):
                start, end = match.span("v")
                yield Candidate(self.name, start, end, self.rank, value)
