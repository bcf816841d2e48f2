"""The redaction engine: one prefilter pass, detectors on candidates, overlap resolution."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.redaction.benign import SHIELD_RULES
from gateway.redaction.detector import Anchor, Detector
from gateway.redaction.finding import RANK_KNOWN, RANK_SHIELD, Candidate, Finding, marker
from gateway.redaction.fingerprint import Fingerprinter
from gateway.redaction.keyword import AuthHeaderDetector, KeywordDetector
from gateway.redaction.known import KnownSecrets
from gateway.redaction.prefilter import Prefilter
from gateway.redaction.regex_detector import RegexDetector
from gateway.redaction.rules import PROVIDER_RULES, STRUCTURE_RULES
from gateway.redaction.stream import StreamRedactor

STREAM_CONTEXT = 1024


def default_detectors() -> list[Detector]:
    """Provider formats, structural rules, then context heuristics."""
    rules = (*PROVIDER_RULES, *STRUCTURE_RULES)
    return [*(RegexDetector(rule) for rule in rules), KeywordDetector(), AuthHeaderDetector()]


@dataclass(frozen=True)
class Analysis:
    """Chosen candidates (sorted, non-overlapping) and every raw span seen."""

    chosen: list[Candidate]
    spans: list[tuple[int, int]]


@dataclass(frozen=True)
class _Plan:
    version: int
    detectors: tuple[Detector, ...]
    prefilter: Prefilter


class Redactor:
    """Finds and redacts secrets in bytes. Thread-safe; build one and share it."""

    def __init__(
        self, fingerprint_key: bytes, *, detectors: Sequence[Detector] | None = None
    ) -> None:
        self._fingerprint = Fingerprinter(fingerprint_key)
        self._known = KnownSecrets()
        chosen = list(detectors) if detectors is not None else default_detectors()
        self._detectors: tuple[Detector, ...] = tuple(chosen)
        self._shields = tuple(RegexDetector(rule) for rule in SHIELD_RULES)
        self._shield_filter = Prefilter(a for d in self._shields for a in d.anchors)
        self._shield_reach = (
            max(d.rule.after for d in self._shields),
            max(d.rule.before + len(a.literal) for d in self._shields for a in d.anchors),
        )
        self._lock = threading.Lock()
        self._plan = self._build_plan()

    def __repr__(self) -> str:
        names = ", ".join(d.name for d in self._detectors)
        return f"Redactor(detectors=[{names}], known={self._known!r})"

    def register_known(self, name: str, value: str) -> None:
        self._known.register(name, value)
        with self._lock:
            self._plan = self._build_plan()

    def fingerprint(self, secret: bytes) -> str:
        return self._fingerprint(secret)

    def scan(self, data: bytes) -> list[Finding]:
        return [self._finding(c, 0) for c in self.analyse(data).chosen]

    def redact(self, data: bytes) -> tuple[bytes, list[Finding]]:
        chosen = self.analyse(data).chosen
        if not chosen:
            return data, []
        out, findings, pos = bytearray(), [], 0
        for candidate in chosen:
            finding = self._finding(candidate, 0)
            out += data[pos : candidate.start]
            out += marker(finding.detector, finding.fingerprint)
            findings.append(finding)
            pos = candidate.end
        out += data[pos:]
        return bytes(out), findings

    def stream(self) -> StreamRedactor:
        return StreamRedactor(self, holdback=self.max_span(), context=STREAM_CONTEXT)

    def max_span(self) -> int:
        """Longest stretch any detector or shield can match around an anchor."""
        spans = [self._known.max_length]
        for detector in (*self._detectors, *self._shields):
            rule = getattr(detector, "rule", None)
            spans.append(rule.before + rule.after if rule is not None else 4400)
        return max(spans) + 64

    def analyse(self, data: bytes) -> Analysis:
        """Engine-internal: candidates for ``data`` (used by the stream redactor)."""
        plan = self._current_plan()
        hits = plan.prefilter.run(data)
        raw = [c for d in plan.detectors for c in d.find(data, hits)] if hits else []
        if not raw:
            return Analysis([], [])
        shields = self._shields_near(data, raw)
        spans = sorted({(c.start, c.end) for c in (*raw, *shields)})
        return Analysis(_resolve(raw, shields), spans)

    def _shields_near(self, data: bytes, raw: list[Candidate]) -> list[Candidate]:
        """Benign structures that may overlap a candidate; only windows around them are read.

        A shield matching within ``before``/``after`` of its anchor overlaps a candidate only if
        the anchor lies within that reach of the candidate, so the windows cover every shield
        that can matter (and the shield regexes still see the whole input around a hit).
        """
        reach_left, reach_right = self._shield_reach
        windows: list[tuple[int, int]] = []
        for cand in sorted(raw, key=lambda c: c.start):
            lo, hi = max(0, cand.start - reach_left), min(len(data), cand.end + reach_right)
            if windows and lo <= windows[-1][1]:
                windows[-1] = (windows[-1][0], max(hi, windows[-1][1]))
            else:
                windows.append((lo, hi))
        hits: dict[Anchor, list[int]] = {}
        for lo, hi in windows:
            for anchor, found in self._shield_filter.run(data[lo:hi]).items():
                hits.setdefault(anchor, []).extend(pos + lo for pos in found)
        return [c for d in self._shields for c in d.find(data, hits)]

    def finding(self, candidate: Candidate, offset: int) -> Finding:
        """Engine-internal: the reportable form of a candidate, shifted by ``offset``."""
        return self._finding(candidate, offset)

    def _finding(self, candidate: Candidate, offset: int) -> Finding:
        return Finding(
            candidate.detector,
            candidate.start + offset,
            candidate.end + offset,
            self._fingerprint(candidate.secret),
            candidate.known_name,
        )

    def _current_plan(self) -> _Plan:
        plan = self._plan
        if plan.version != self._known.version:
            with self._lock:
                self._plan = plan = self._build_plan()
        return plan

    def _build_plan(self) -> _Plan:
        version = self._known.version
        detectors = (self._known, *self._detectors)
        return _Plan(version, detectors, Prefilter(a for d in detectors for a in d.anchors))


def _resolve(raw: list[Candidate], shields: list[Candidate]) -> list[Candidate]:
    """Non-overlapping choice: most specific rank first, then longest, then leftmost."""
    shield_spans = sorted((c.start, c.end) for c in shields if c.rank == RANK_SHIELD)
    ordered = sorted(raw, key=lambda c: (c.rank, -c.length, c.start))
    starts: list[int] = []
    chosen: dict[int, Candidate] = {}
    for cand in ordered:
        if cand.rank != RANK_KNOWN and _overlaps(shield_spans, cand.start, cand.end):
            continue
        i = bisect.bisect_right(starts, cand.start)
        if i > 0 and chosen[starts[i - 1]].end > cand.start:
            continue
        if i < len(starts) and starts[i] < cand.end:
            continue
        starts.insert(i, cand.start)
        chosen[cand.start] = cand
    return [chosen[s] for s in starts]


def _overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    i = bisect.bisect_left(spans, (end, -1))
    return any(s < end and e > start for s, e in spans[max(0, i - 8) : i])
