"""The prefilter finds every anchor occurrence, overlapping ones included."""

from __future__ import annotations

from gateway.redaction.detector import Anchor
from gateway.redaction.prefilter import Prefilter


def test_finds_exact_and_nocase_anchors() -> None:
    anchors = [Anchor(b"ghp_"), Anchor(b"gho_"), Anchor(b"key", nocase=True), Anchor(b"k")]
    hits = Prefilter(anchors).run(b"ghp_x gho_y API_KEY Key ghp_")
    assert hits[Anchor(b"ghp_")] == [0, 24]
    assert hits[Anchor(b"gho_")] == [6]
    assert hits[Anchor(b"key", nocase=True)] == [16, 20]
    assert Anchor(b"k") not in hits  # case-sensitive: only upper-case K present


def test_overlapping_anchors_are_all_reported() -> None:
    a, b = Anchor(b"sk-"), Anchor(b"sk-ant-")
    hits = Prefilter([a, b, Anchor(b"-ant")]).run(b"sk-ant-x")
    assert hits[a] == [0] and hits[b] == [0] and hits[Anchor(b"-ant")] == [2]
