"""Group commit in front of a :class:`SpoolWriter`.

Callers (async proxy hooks or plain threads) enqueue an event and wait until it
is durable; one background thread writes everything queued and fsyncs once.
Nothing is ever dropped: an event is either acknowledged durable or its caller
gets ``SpoolError`` and must refuse the traffic it describes.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from concurrent.futures import Future
from pathlib import Path

from gateway.audit.events import AuditEvent
from gateway.audit.spool import SpoolWriter, spool_bytes
from gateway.errors import SpoolError

_STOP = object()


class GroupCommitter:
    def __init__(self, writer: SpoolWriter, spool_dir: Path, *, max_bytes: int) -> None:
        self._writer = writer
        self._spool_dir = spool_dir
        self._max_bytes = max_bytes
        self._queue: queue.Queue[object] = queue.Queue()  # (payload, waiter) or _STOP
        self._full_reason: str | None = None
        self._size_checked = 0.0
        self.commits = 0
        self.events = 0
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
        self._full_reason = (
            f"audit spool full ({used} of {self._max_bytes} bytes)"
            if used >= self._max_bytes
            else None
        )

    def submit(self, event: AuditEvent) -> Future[None]:
        """Queue an event; the size limit is not checked here on purpose.

        ``check_capacity`` is admission control for *new* traffic. An event for
        traffic already admitted must be recorded even past the limit; only a real
        write failure (disk full, I/O error) refuses it.
        """
        fut: Future[None] = Future()
        self._queue.put((event.to_bytes(), fut))
        return fut

    def append_sync(self, event: AuditEvent, timeout: float = 30.0) -> None:
        self.submit(event).result(timeout)

    async def append(self, event: AuditEvent) -> None:
        """Wait until the event is durable. One loop wake-up settles a whole batch."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put((event.to_bytes(), fut))
        await fut

    def close(self, timeout: float = 10.0) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._writer.close()

    # Thread ---------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._measure()
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

    def _commit(self, batch: list[tuple[bytes, Waiter]]) -> None:
        error: SpoolError | None = None
        try:
            self._writer.write([payload for payload, _ in batch])
        except SpoolError as exc:
            self._full_reason = str(exc)  # refused until the next measurement says otherwise
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
