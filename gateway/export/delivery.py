"""One sink's delivery loop: read after the cursor, filter, render, push, then advance.

At least once: the cursor moves only after the receiver acknowledged the batch (or
refused records for good, which become dead letters in the same transaction). A crash,
an outage of the receiver or a restart re-sends at most the batch in flight; every
record carries its event id, so receivers drop the repeats. Batches close at
``batch_events`` records or ``batch_ms`` after their first record, whichever is first.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from gateway.audit.events import AuditEvent
from gateway.export.config import SEVERITY_RANK, SinkSettings
from gateway.export.cursor import CursorState
from gateway.export.feed import Feed, FeedError, FeedPage
from gateway.export.sink import Backoff, Bisecting, Record, Rejected, Retrying, Stopped, Transport

log = logging.getLogger("airlock.export")

Render = Callable[[str, AuditEvent], str]
Notify = Callable[[str, dict[str, str]], None]  # (event kind, detail)
MAX_PAGES_PER_BATCH = 20  # then commit progress, even through events the filter drops
LEASE_TTL = 30.0
LEASE_HELD = "another exporter holds this sink's lease"


class Cursors(Protocol):
    def load(self, sink: str, start: tuple[str, datetime | None] = ...) -> CursorState: ...
    def claim(self, sink: str, owner: str, ttl: float) -> bool: ...
    def release(self, sink: str, owner: str) -> None: ...
    def set_failing(self, sink: str, error: str | None) -> None: ...
    def advance(
        self,
        state: CursorState,
        owner: str,
        *,
        position: str,
        position_at: datetime | None,
        delivered: int,
        lag_seconds: float,
        rejected: Sequence[Rejected] = (),
    ) -> bool: ...


def matches(sink: SinkSettings, event: AuditEvent) -> bool:
    """The sink's filters: kinds, minimum severity, agents (empty lists match all)."""
    if sink.kinds and event.kind not in sink.kinds:
        return False
    if SEVERITY_RANK.get(event.severity, 0) < SEVERITY_RANK[sink.min_severity]:
        return False
    return not sink.agents or event.agent in sink.agents


@dataclass
class SinkStats:
    delivered: int = 0
    dead_letters: int = 0
    failures: int = 0
    feed_errors: int = 0
    lag_seconds: float = 0.0
    failing: bool = False
    last_error: str = ""
    last_delivery: float = 0.0
    inflight_since: datetime | None = None

    def current_lag(self) -> float:
        if self.inflight_since is not None:
            return max(0.0, (datetime.now(UTC) - self.inflight_since).total_seconds())
        return self.lag_seconds


@dataclass
class Batch:
    records: list[Record] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    cursor: str = ""
    cursor_at: datetime | None = None
    first_at: datetime | None = None
    more: bool = False


class SinkRunner:
    def __init__(
        self,
        sink: SinkSettings,
        *,
        feed: Feed,
        transport: Transport,
        render: Render,
        cursors: Cursors,
        owner: str,
        stop: threading.Event,
        notify: Notify,
        poll_s: float = 0.5,
        start: tuple[str, datetime | None] = ("", None),
    ) -> None:
        self.sink, self.feed, self.render, self.cursors = sink, feed, render, cursors
        self.owner, self.stop, self.notify, self.poll_s = owner, stop, notify, poll_s
        self.start = start
        self.stats = SinkStats()
        self._renew_at = 0.0
        backoff = Backoff(maximum=sink.retry_max_ms / 1000)
        self.transport = Retrying(
            Bisecting(transport), stop, backoff, self._on_failure, self._on_recovery
        )
        self.transport.name = sink.name  # log lines name the sink

    # Loop ------------------------------------------------------------------

    def run(self, once: bool = False) -> None:
        """Deliver until stopped (``once``: until caught up)."""
        errors = 0
        while not self.stop.is_set():
            try:
                busy = self.step()
                errors = 0
            except FeedError as exc:
                errors += 1
                self.stats.feed_errors += 1
                self.stats.last_error = str(exc)
                log.warning("sink %s: %s", self.sink.name, exc)
                if once:
                    break
                self.stop.wait(min(30.0, 0.5 * 2 ** min(errors, 6)))
                continue
            except Stopped:
                break
            if once and not busy:
                break
            if not busy:
                self.stop.wait(self.poll_s)

    def close(self) -> None:
        self.cursors.release(self.sink.name, self.owner)
        self.transport.close()

    def step(self) -> bool:
        """One batch; True if more work is waiting."""
        state = self.cursors.load(self.sink.name, self.start)
        if not self._hold_lease():
            return False
        batch = self._collect(state.position)
        if batch.cursor == state.position:
            return False
        return self._deliver(state, batch)

    def _hold_lease(self) -> bool:
        """Claim the sink, renewing a third of the way into the lease (not every poll)."""
        if time.monotonic() < self._renew_at:
            return True
        if not self.cursors.claim(self.sink.name, self.owner, LEASE_TTL):
            self.stats.last_error = LEASE_HELD
            return False
        if self.stats.last_error == LEASE_HELD:
            self.stats.last_error = ""
        self._renew_at = time.monotonic() + LEASE_TTL / 3
        return True

    def _deliver(self, state: CursorState, batch: Batch) -> bool:
        rejected = list(batch.rejected)
        if batch.records:
            self.stats.inflight_since = batch.first_at
            try:
                rejected += self.transport.push(batch.records)
            finally:
                self.stats.inflight_since = None
        lag = 0.0
        if batch.more and batch.cursor_at is not None:
            lag = max(0.0, (datetime.now(UTC) - batch.cursor_at).total_seconds())
        delivered = len(batch.records) + len(batch.rejected) - len(rejected)
        if not self.cursors.advance(
            state,
            self.owner,
            position=batch.cursor,
            position_at=batch.cursor_at or state.position_at,
            delivered=delivered,
            lag_seconds=lag,
            rejected=rejected,
        ):
            log.warning("sink %s: cursor was rewound or taken over; re-reading", self.sink.name)
            self._renew_at = 0.0
            return True
        self._account(delivered, rejected, lag)
        return batch.more or bool(batch.records)

    def _account(self, delivered: int, rejected: list[Rejected], lag: float) -> None:
        self.stats.delivered += delivered
        self.stats.lag_seconds = lag
        if delivered:
            self.stats.last_delivery = time.time()
        if rejected:
            self.stats.dead_letters += len(rejected)
            self.notify(
                "export-dead-letter",
                {
                    "sink": self.sink.name,
                    "count": str(len(rejected)),
                    "event_ids": ",".join(r.record.event.event_id for r in rejected[:20]),
                    "reason": rejected[0].reason[:300],
                },
            )

    # Reading ---------------------------------------------------------------

    def _collect(self, position: str) -> Batch:
        batch = Batch(cursor=position)
        first_record, pages = 0.0, 0
        while True:
            want = self.sink.batch_events - len(batch.records)
            page = self.feed.fetch(batch.cursor, min(1000, want))
            self._absorb(batch, page)
            if batch.records and not first_record:
                first_record = time.monotonic()
            if len(batch.records) >= self.sink.batch_events:
                break
            if page.more:
                pages += 1
                if pages >= MAX_PAGES_PER_BATCH:
                    break
                continue
            wait = first_record + self.sink.batch_ms / 1000 - time.monotonic()
            if not batch.records or wait <= 0 or self.stop.wait(min(wait, self.poll_s)):
                break
        return batch

    def _absorb(self, batch: Batch, page: FeedPage) -> None:
        batch.more = page.more
        if not page.events:
            return
        batch.cursor, batch.cursor_at = page.cursor, page.cursor_at
        batch.first_at = batch.first_at or page.first_at
        for event in page.events:
            if not matches(self.sink, event):
                continue
            try:
                batch.records.append(Record(event, self.render(self.sink.format, event)))
            except Exception as exc:  # a record that cannot be rendered is a dead letter
                reason = f"render failed: {type(exc).__name__}: {exc}"
                batch.rejected.append(Rejected(Record(event, ""), reason))

    # Failure hooks -----------------------------------------------------------

    def _on_failure(self, error: str, attempt: int) -> None:
        self.stats.failures += 1
        self.stats.last_error = error
        self.cursors.set_failing(self.sink.name, error)
        self.cursors.claim(self.sink.name, self.owner, LEASE_TTL)  # still ours while retrying
        if attempt == 1:
            self.stats.failing = True
            detail = {"sink": self.sink.name, "transport": self.sink.transport, "error": error}
            self.notify("export-failed", detail)

    def _on_recovery(self, attempts: int, seconds: float) -> None:
        self.stats.failing = False
        self.stats.last_error = ""
        self.cursors.set_failing(self.sink.name, None)
        detail = {
            "sink": self.sink.name,
            "attempts": str(attempts),
            "failed_seconds": f"{seconds:.1f}",
        }
        self.notify("export-recovered", detail)
