"""A detector defined by one regex, searched only in a window around its anchors."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from gateway.redaction.detector import Anchor, Hits, positions
from gateway.redaction.finding import RANK_PROVIDER, Candidate


@dataclass(frozen=True)
class RegexRule:
    """``pattern`` must match within ``before`` bytes before and ``after`` bytes after an anchor.

    With ``before == 0`` every match starts at one of its anchors, so the pattern is only tried
    (``re.match``) at each anchor hit; otherwise it is searched in the window around the hit.

    ``groups`` name the capture groups that hold the secret (first one that took part wins);
    an empty tuple means the whole match is the secret.
    """

    name: str
    anchors: tuple[Anchor, ...]
    pattern: re.Pattern[bytes]
    before: int = 0
    after: int = 256
    groups: tuple[int, ...] = ()
    rank: int = RANK_PROVIDER
    validate: Callable[[bytes], bool] | None = None


class RegexDetector:
    """Runs one :class:`RegexRule`; reports the secret's span, never more."""

    def __init__(self, rule: RegexRule) -> None:
        self.rule = rule
        self.name = rule.name
        self.rank = rule.rank

    def __repr__(self) -> str:
        return f"RegexDetector({self.name!r})"

    @property
    def anchors(self) -> tuple[Anchor, ...]:
        return self.rule.anchors

    def find(self, data: bytes, hits: Hits) -> Iterator[Candidate]:
        rule, seen = self.rule, set()
        pattern, before, after = rule.pattern, rule.before, rule.after
        for pos in positions(hits, rule.anchors):
            if before == 0:
                found = pattern.match(data, pos, pos + after)  # re clamps the end to the data
                if found is None:
                    continue
                matches: Iterable[re.Match[bytes]] = (found,)
            else:
                matches = pattern.finditer(data, max(0, pos - before), pos + after)
            for match in matches:
                start, end = _secret_span(match, rule.groups)
                if start < 0 or end <= start or (start, end) in seen:
                    continue
                secret = data[start:end]
                if rule.validate is not None and not rule.validate(secret):
                    continue
                seen.add((start, end))
                yield Candidate(self.name, start, end, rule.rank, secret)


def _secret_span(match: re.Match[bytes], groups: tuple[int, ...]) -> tuple[int, int]:
    if not groups:
        return match.span()
    for group in groups:
        if match.start(group) >= 0:
            return match.span(group)
    return -1, -1
