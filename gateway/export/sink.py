"""The sink contract: one ``push(batch)`` function, and the wrappers around it.

A transport implements :class:`Transport`: ``push`` returns once the receiver has
acknowledged the batch, returning the records it refused for good; it raises
:class:`TransientError` when the batch may succeed later (receiver down, timeout, 5xx,
401), and :class:`BatchRejected` when the receiver refused the batch as a whole for its
content (HTTP 400 or 413) without saying which record was at fault.

The wrappers follow the OpenTelemetry Collector's exporter helpers: :class:`Bisecting`
splits a rejected batch until the bad records are isolated, :class:`Retrying` retries
transient failures with capped exponential backoff until they pass or the exporter stops.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.audit.events import AuditEvent
from gateway.errors import AirlockError

log = logging.getLogger("airlock.export")


@dataclass(frozen=True, slots=True)
class Record:
    """One audit event and its rendering in the sink's format (one line)."""

    event: AuditEvent
    line: str


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record the receiver refused for good: it goes to the dead-letter table."""

    record: Record
    reason: str


class TransientError(AirlockError):
    """The push may succeed later: nothing was acknowledged, the batch is retried."""

    code = "export_transient"


class BatchRejected(AirlockError):
    """The receiver refused this batch for its content; some record in it is bad."""

    code = "export_rejected"


class Stopped(AirlockError):
    """The exporter is stopping: the batch was not acknowledged and will be re-sent."""

    code = "export_stopped"


class Transport(Protocol):
    name: str

    def push(self, batch: Sequence[Record]) -> list[Rejected]:
        """Deliver ``batch``; return once acknowledged, with the records refused for good."""

    def close(self) -> None: ...


class Bisecting:
    """Split a rejected batch in halves until each refused record stands alone."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.name = inner.name

    def push(self, batch: Sequence[Record]) -> list[Rejected]:
        try:
            return self.inner.push(batch)
        except BatchRejected as exc:
            if len(batch) == 1:
                return [Rejected(batch[0], str(exc))]
        middle = len(batch) // 2
        return self.push(batch[:middle]) + self.push(batch[middle:])

    def close(self) -> None:
        self.inner.close()


@dataclass
class Backoff:
    """Capped exponential backoff with full jitter on the upper half."""

    initial: float = 0.5
    maximum: float = 30.0

    def delay(self, attempt: int) -> float:
        ceiling = min(self.maximum, self.initial * 2 ** min(attempt, 20))
        return ceiling / 2 + random.random() * ceiling / 2


FailureHook = Callable[[str, int], None]  # (error text, attempt)
RecoveryHook = Callable[[int, float], None]  # (failed attempts, seconds failing)


class Retrying:
    """Retry transient failures until they pass or ``stop`` is set (then raise Stopped)."""

    def __init__(
        self,
        inner: Transport,
        stop: threading.Event,
        backoff: Backoff,
        on_failure: FailureHook | None = None,
        on_recovery: RecoveryHook | None = None,
    ) -> None:
        self.inner, self.stop, self.backoff = inner, stop, backoff
        self.name = inner.name
        self.on_failure, self.on_recovery = on_failure, on_recovery

    def push(self, batch: Sequence[Record]) -> list[Rejected]:
        attempt, failing_since = 0, 0.0
        while True:
            if self.stop.is_set():
                raise Stopped("exporter stopping before the batch was acknowledged")
            try:
                rejected = self.inner.push(batch)
            except TransientError as exc:
                attempt += 1
                failing_since = failing_since or time.monotonic()
                log.warning("sink %s: push failed (attempt %d): %s", self.name, attempt, exc)
                if self.on_failure:
                    self.on_failure(str(exc), attempt)
                self.stop.wait(self.backoff.delay(attempt - 1))
                continue
            if attempt and self.on_recovery:
                self.on_recovery(attempt, time.monotonic() - failing_since)
            return rejected

    def close(self) -> None:
        self.inner.close()
