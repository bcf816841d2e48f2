"""Group commit in front of a :class:`ChainWriter`.

Callers (async proxy hooks or plain threads) enqueue an event and wait until it
is durable; one background thread seals everything queued into the hash chain,
writes it and fsyncs once. Nothing is ever dropped: an event is either
acknowledged durable or its caller gets ``SpoolError`` and must refuse the
traffic it describes. The same thread writes a signed checkpoint every
``checkpoint_seconds`` and a final one on close.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import threading
import time
from concurrent.futures import Future
from pathlib import Path

from gateway.audit.events import AuditEvent
from gateway.audit.sealer import ChainWriter
from gateway.audit.spool import disk_free, spool_bytes
from gateway.errors import SpoolError

log = logging.getLogger("airlock.spool")
_STOP = object()
STATUS_FILE = "status.json"


class GroupCommitter:
    def __init__(
        self,
        writer: ChainWriter,
        spool_dir: Path,
        *,
        max_bytes: int,
        checkpoint_seconds: float = 30.0,
        min_free_bytes: int = 0,
    ) -> None:
        self._min_free = min_free_bytes
        self._writer = writer
        self._spool_dir = spool_dir
        self._max_bytes = max_bytes
        self._checkpoint_every = checkpoint_seconds
        self._checkpointed = float("-inf")  # monotonic time of the last checkpoint
        self._opened = False  # the opening checkpoint precedes every event of this run
        self._queue: queue.Queue[object] = queue.Queue()  # (event, waiter) or _STOP
        self._full_reason: str | None = None
        self._full_since = 0.0
        self._size_checked = 0.0
        self.blocked_seconds = 0.0  # total time new traffic was refused (closed episodes)
        self.commits = 0
        self.events = 0
        self._publish_status()  # a restarted writer starts unblocked
        self._thread = threading.Thread(target=self._run, name="spool-commit", daemon=True)
        self._thread.start()

    # API ------------------------------------------------------------------

    def check_capacity(self) -> None:
        """Raise SpoolError when the spool is over its limit or its disk failed.

        Reads a flag only: the commit thread measures the spool, so admission
        control never touches the disk on the caller's (event loop's) thread.
        """
        if self._full_reason:
            raise SpoolError(self._full_reason)

    def _measure(self) -> None:
        now = time.monotonic()
        if now - self._size_checked < 0.25:
            return
        self._size_checked = now
        used = spool_bytes(self._spool_dir)
        free = disk_free(self._spool_dir)
        if used >= self._max_bytes:
            self._set_full(f"audit spool full ({used} of {self._max_bytes} bytes)")
        elif free < self._min_free:
            # Refuse before the disk is full, and keep refusing after a failed write until
            # space returns: an admitted request's event must always fit.
            self._set_full(f"audit spool disk nearly full ({free} bytes free)")
        else:
            self._set_full(None)

    def _set_full(self, reason: str | None) -> None:
        now = time.monotonic()
        if reason and not self._full_reason:
            self._full_since = now
        elif self._full_reason and not reason:
            self.blocked_seconds += now - self._full_since
        changed = bool(reason) != bool(self._full_reason)
        self._full_reason = reason
        if changed or reason:
            self._publish_status()

    def _publish_status(self) -> None:
        """``status.json`` in the stream: the store's /metrics reads blocked time from it."""
        body = {"blocked": bool(self._full_reason), "blocked_seconds": self.blocked_total()}
        path = self._writer.stream_dir / STATUS_FILE
        try:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(body))
            os.replace(tmp, path)
        except OSError:
            pass  # the disk is full: the refusals themselves are audited by the proxy

    def blocked_total(self) -> float:
        """Seconds new traffic has been refused so far, including a current episode."""
        current = time.monotonic() - self._full_since if self._full_reason else 0.0
        return self.blocked_seconds + current

    def submit(self, event: AuditEvent) -> Future[None]:
        """Queue an event; the size limit is not checked here on purpose.

        ``check_capacity`` is admission control for *new* traffic. An event for
        traffic already admitted must be recorded even past the limit; only a real
        write failure (disk full, I/O error) refuses it.
        """
        fut: Future[None] = Future()
        self._queue.put((event, fut))
        return fut

    def append_sync(self, event: AuditEvent, timeout: float = 30.0) -> None:
        self.submit(event).result(timeout)

    async def append(self, event: AuditEvent) -> None:
        """Wait until the event is durable. One loop wake-up settles a whole batch."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put((event, fut))
        await fut

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued and a final checkpoint, then release the stream."""
        self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive():  # stuck in the disk: never write from a second thread
            log.error("spool commit thread did not stop; the chain is left unsealed")
            return
        try:
            self._writer.checkpoint(final=True, interval=self._checkpoint_every)
        except SpoolError:
            pass  # the disk refuses: the chain then ends unsealed, which verify reports
        self._writer.close()

    # Thread ---------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._measure()
            self._maybe_checkpoint()
            try:
                item = self._queue.get(timeout=0.25)
            except queue.Empty:
                continue
            if item is _STOP:
                return
            batch = [item]
            stop = False
            while len(batch) < 4096:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                batch.append(nxt)
            self._commit(batch)  # type: ignore[arg-type]
            self._measure()
            if stop:
                return

    def _maybe_checkpoint(self) -> None:
        now = time.monotonic()
        if now - self._checkpointed < self._checkpoint_every:
            return
        try:
            self._writer.checkpoint(interval=self._checkpoint_every)
        except SpoolError as exc:
            self._set_full(str(exc))
            self._size_checked = now
            return
        self._checkpointed = now
        self._opened = True

    def _commit(self, batch: list[tuple[AuditEvent, Waiter]]) -> None:
        error: SpoolError | None = None
        try:
            if not self._opened:  # a restart's first record is a checkpoint (verify relies on it)
                self._checkpointed = float("-inf")
                self._maybe_checkpoint()
                if not self._opened:
                    raise SpoolError(self._full_reason or "audit spool cannot open its chain")
            self._writer.write([event for event, _ in batch])
        except SpoolError as exc:
            self._set_full(str(exc))  # refused until the next measurement says otherwise
            self._size_checked = time.monotonic()
            error = exc
        else:
            self.commits += 1
            self.events += len(batch)
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for _, waiter in batch:
            if isinstance(waiter, Future):
                _settle(waiter, error)
            else:
                by_loop.setdefault(waiter.get_loop(), []).append(waiter)
        for loop, waiters in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle_all, waiters, error)
            except RuntimeError:
                pass  # that loop is closed: nobody is waiting any more


Waiter = Future[None] | asyncio.Future[None]


def _settle(fut: Future[None] | asyncio.Future[None], error: SpoolError | None) -> None:
    if fut.done():
        return
    if error is None:
        fut.set_result(None)
    else:
        fut.set_exception(SpoolError(str(error)))


def _settle_all(waiters: list[asyncio.Future[None]], error: SpoolError | None) -> None:
    for fut in waiters:
        _settle(fut, error)
