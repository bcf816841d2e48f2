"""The detector interface: anchors for the prefilter, and candidates near those anchors."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.redaction.finding import Candidate


@dataclass(frozen=True)
class Anchor:
    """A literal every match of a detector contains; ``nocase`` literals are lowercase."""

    literal: bytes
    nocase: bool = False

    def __post_init__(self) -> None:
        if not self.literal:
            raise ValueError("anchor literal must not be empty")
        if self.nocase and self.literal != self.literal.lower():
            raise ValueError("nocase anchors must be lowercase")


Hits = Mapping[Anchor, Sequence[int]]


class Detector(Protocol):
    """One kind of secret. ``find`` only looks around the prefilter's anchor hits."""

    name: str
    rank: int

    @property
    def anchors(self) -> tuple[Anchor, ...]: ...

    def find(self, data: bytes, hits: Hits) -> Iterable[Candidate]: ...


def positions(hits: Hits, anchors: Iterable[Anchor]) -> list[int]:
    """Sorted, de-duplicated hit positions of the given anchors."""
    found: set[int] = set()
    for anchor in anchors:
        found.update(hits.get(anchor, ()))
    return sorted(found)
