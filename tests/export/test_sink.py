"""The wrappers around ``push``: bisecting rejected batches, retrying transient failures.

The inner transport is a scripted stand-in: these tests are about the wrappers' logic,
and the real transports have their own tests against real receivers.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from gateway.export.sink import (
    Backoff,
    BatchRejected,
    Bisecting,
    Record,
    Rejected,
    Retrying,
    Stopped,
    TransientError,
)
from tests.export.sink_support import make_records


class Scripted:
    name = "scripted"

    def __init__(self, poison: frozenset[str] = frozenset(), failures: int = 0) -> None:
        self.poison, self.failures = poison, failures
        self.accepted: list[Record] = []
        self.calls: list[int] = []

    def push(self, batch: Sequence[Record]) -> list[Rejected]:
        self.calls.append(len(batch))
        if self.failures:
            self.failures -= 1
            raise TransientError("receiver down")
        if any(r.line in self.poison for r in batch):
            raise BatchRejected("HTTP 400: invalid data")
        self.accepted += batch
        return []

    def close(self) -> None:
        pass


def test_bisecting_isolates_each_bad_record_and_delivers_the_rest() -> None:
    records = make_records(16)
    bad = {records[3].line, records[11].line}
    inner = Scripted(poison=frozenset(bad))
    rejected = Bisecting(inner).push(records)
    assert [r.record.line for r in rejected] == [records[3].line, records[11].line]
    assert all("HTTP 400" in r.reason for r in rejected)
    assert inner.accepted == [r for r in records if r.line not in bad]
    assert len(inner.calls) < 16 * 2  # halves, not one call per record


def test_retrying_retries_until_success_and_reports_failure_and_recovery() -> None:
    failures: list[tuple[str, int]] = []
    recoveries: list[int] = []
    inner = Scripted(failures=3)
    retrying = Retrying(
        inner,
        threading.Event(),
        Backoff(initial=0.001, maximum=0.004),
        on_failure=lambda err, n: failures.append((err, n)),
        on_recovery=lambda n, _seconds: recoveries.append(n),
    )
    records = make_records(2)
    assert retrying.push(records) == []
    assert inner.accepted == records
    assert failures == [("receiver down", 1), ("receiver down", 2), ("receiver down", 3)]
    assert recoveries == [3]


def test_retrying_gives_up_only_when_stopping_and_says_so() -> None:
    stop = threading.Event()
    inner = Scripted(failures=10**6)
    retrying = Retrying(
        inner,
        stop,
        Backoff(initial=0.001, maximum=0.002),
        on_failure=lambda _e, n: stop.set() if n == 5 else None,
    )
    with pytest.raises(Stopped):
        retrying.push(make_records(1))
    assert len(inner.calls) == 5


def test_backoff_grows_and_is_capped() -> None:
    backoff = Backoff(initial=0.5, maximum=4.0)
    delays = [backoff.delay(n) for n in range(8)]
    assert 0.25 <= delays[0] <= 0.5
    assert all(2.0 <= d <= 4.0 for d in delays[4:])
