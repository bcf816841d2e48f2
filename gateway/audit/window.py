"""``airlock audit verify``: check every chain that has events in a time window,
straight from the audit store.

For each stream the check starts at the stored link before the window (so a
deleted first event shows as a gap) and runs to the first signed checkpoint at
or after the window's last event (so the window is sealed), or to the end of the
stream, where a missing final checkpoint means the tail was cut off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.audit import chainstore
from gateway.audit.store import AuditStore
from gateway.audit.verify import (
    FATAL,
    WARNING,
    Problem,
    StreamReport,
    ended_early,
    stale_unsealed,
    truncation,
    verify_chain,
)


@dataclass
class VerifyResult:
    start: datetime
    end: datetime
    streams: list[StreamReport] = field(default_factory=list)

    @property
    def problems(self) -> list[Problem]:
        return [p for s in self.streams for p in s.problems]

    @property
    def ok(self) -> bool:
        return not any(p.level == FATAL for p in self.problems)

    @property
    def events(self) -> int:
        return sum(s.links for s in self.streams)

    def first_problem(self) -> Problem | None:
        ranked = sorted(self.problems, key=lambda p: p.level != FATAL)
        return ranked[0] if ranked else None

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "events": self.events,
            "streams": [
                {
                    "stream": s.stream,
                    "links": s.links,
                    "first_seq": s.first_seq,
                    "last_seq": s.last_seq,
                    "sealed_upto": s.sealed_upto,
                    "final": s.final,
                }
                for s in self.streams
            ],
            "problems": [p.__dict__ for p in self.problems],
        }


def verify_window(
    store: AuditStore,
    start: datetime,
    end: datetime,
    keys: dict[str, Ed25519PublicKey],
    now: datetime | None = None,
    interval: float = 30.0,
) -> VerifyResult:
    """``interval``: the configured checkpoint interval, for chains with no checkpoint yet."""
    now = now or datetime.now(UTC)
    result = VerifyResult(start, end)
    for span in chainstore.window_spans(store, start, end):
        result.streams.append(_verify_span(store, span, keys, now, interval, end))
    return result


def _verify_span(
    store: AuditStore,
    span: chainstore.Span,
    keys: dict[str, Ed25519PublicKey],
    now: datetime,
    interval: float,
    end: datetime,
) -> StreamReport:
    before = chainstore.predecessor(store, span.stream, span.lo)
    last = chainstore.stream_end(store, span.stream)
    upto = chainstore.checkpoint_after(store, span.stream, span.hi) or last
    chain = ([before] if before else []) + chainstore.links(store, span.stream, span.lo, upto)
    report = verify_chain(chain, keys)
    if before is None and span.lo > 1:
        report.problems.insert(
            0,
            chain[0].problem(
                "chain-start",
                f"no stored link before seq {span.lo}: earlier events are gone "
                "(expired by retention, or deleted)",
                WARNING,
            ),
        )
    stale = stale_unsealed(report, chain, now, interval)
    if stale is not None:
        report.problems.append(stale)
    elif upto == last:
        cut = truncation(report, chain[-1], now) or ended_early(report, chain[-1], end)
        if cut is not None:
            report.problems.append(cut)
    return report
