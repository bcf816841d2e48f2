"""Chunk-by-chunk redaction with a carry-over window.

The redactor holds back the last ``holdback`` bytes (at least the longest possible match) so
a secret split across chunks is seen whole, and keeps ``context`` already-emitted bytes in front
of the buffer so look-behind rules see what they would see in the whole input. The emitted
bytes therefore equal ``redact(whole input)`` for any chunking; memory stays bounded by
``context + holdback + max(holdback, MIN_BATCH) + len(largest chunk)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.redaction.finding import Finding, marker

if TYPE_CHECKING:
    from gateway.redaction.engine import Redactor

# Bytes emitted per analysis at least: each analysis re-reads the hold-back and context, so
# batching keeps those re-reads to a fraction of the input (about 1.25 reads per byte).
MIN_BATCH = 64 * 1024


class StreamRedactor:
    """Feed chunks, emit what is safe; ``flush`` at the end. Not thread-safe (one per stream)."""

    def __init__(self, redactor: Redactor, *, holdback: int, context: int) -> None:
        self._redactor = redactor
        self._holdback = holdback
        self._context = context
        self._buf = b""
        self._emitted = 0  # bytes at the front of _buf that were already emitted
        self._base = 0  # stream offset of _buf[0]
        self.findings: list[Finding] = []

    def __repr__(self) -> str:
        return f"StreamRedactor(offset={self._base + self._emitted}, findings={len(self.findings)})"

    def feed(self, chunk: bytes) -> bytes:
        if not chunk:
            return b""
        self._buf += chunk
        if len(self._buf) - self._emitted < self._holdback + max(self._holdback, MIN_BATCH):
            return b""
        return self._emit(final=False)

    def flush(self) -> bytes:
        out = self._emit(final=True)
        self._base += len(self._buf)
        self._buf, self._emitted = b"", 0
        return out

    def _emit(self, *, final: bool) -> bytes:
        buf, done = self._buf, self._emitted
        analysis = self._redactor.analyse(buf)
        cut = len(buf) if final else _safe_cut(len(buf) - self._holdback, analysis.spans)
        cut = max(cut, done)
        out, pos = bytearray(), done
        for cand in analysis.chosen:
            if cand.end <= done or cand.start >= cut or cand.end > cut:
                continue
            finding = self._redactor.finding(cand, self._base)
            out += buf[pos : max(cand.start, done)]
            out += marker(finding.detector, finding.fingerprint)
            self.findings.append(finding)
            pos = cand.end
        out += buf[pos:cut]
        keep = max(0, cut - self._context)
        self._base += keep
        self._buf, self._emitted = buf[keep:], cut - keep
        return bytes(out)


def _safe_cut(cut: int, spans: list[tuple[int, int]]) -> int:
    """Move ``cut`` left until no span straddles it."""
    moved = True
    while moved:
        moved = False
        for start, end in spans:
            if start < cut < end:
                cut, moved = start, True
    return cut
