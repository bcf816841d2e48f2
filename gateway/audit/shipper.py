"""Ship the spool into ClickHouse: resumable and idempotent.

Per stream, ``cursor.bin`` (gateway/audit/cursor.py) records the committed
position and, while an insert is in flight, the exact pending batch (start,
end). After a crash the pending batch is re-read byte for byte and re-inserted
with the same deduplication token, so ClickHouse drops it if the first insert
had landed: no loss, no duplicate. Fully shipped closed segments are deleted.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from gateway.audit.cursor import CURSOR_FILE, Cursor
from gateway.audit.events import AuditEvent, clickhouse_row
from gateway.audit.spool import Position, list_segments, read_records, segment_name
from gateway.audit.store import AuditStore
from gateway.errors import AirlockError

log = logging.getLogger("airlock.shipper")


ONE_SHOT_PREFIX = "cli-"  # streams written once by a command (gateway/audit/control_events.py)


def _retire(stream_dir: Path) -> None:
    """Remove a fully shipped one-shot stream, unless its writer still holds it."""
    lock = stream_dir / "writer.lock"
    try:
        if time.time() - stream_dir.stat().st_mtime < 10:
            return  # a writer may be just starting
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return
    try:
        shutil.rmtree(stream_dir, ignore_errors=True)
    finally:
        os.close(fd)


@dataclass
class ShipperStats:
    shipped: int = 0
    batches: int = 0
    failures: int = 0
    corrupt_skips: int = 0
    last_error: str = ""
    last_ship: float = 0.0
    lag_seconds: float = 0.0  # event time to insert, for the oldest event of the last batch


def pending_bytes(stream_dir: Path) -> int:
    """Bytes of a stream's spool not yet shipped (past its cursor)."""
    try:
        cursor = Cursor.load(stream_dir / CURSOR_FILE)
        total = 0
        for number in list_segments(stream_dir):
            if number >= cursor.committed.segment:
                size = (stream_dir / segment_name(number)).stat().st_size
                total += size - (
                    cursor.committed.offset if number == cursor.committed.segment else 0
                )
        return max(0, total)
    except (FileNotFoundError, ValueError, KeyError):
        return 0


class Shipper:
    def __init__(
        self,
        spool_dir: Path,
        store: AuditStore,
        *,
        batch_events: int = 5000,
        gateway_id: str = "",
    ) -> None:
        # Tokens must differ between gateways sharing one ClickHouse: ClickHouse drops an
        # insert whose token it has seen, whatever its rows.
        self._token_prefix = (
            hashlib.sha256(gateway_id.encode()).hexdigest()[:16] + ":" if gateway_id else ""
        )
        self._spool_dir = spool_dir
        self._store = store
        self._batch = batch_events
        self.stats = ShipperStats()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def streams(self) -> list[Path]:
        if not self._spool_dir.exists():
            return []
        return sorted(p for p in self._spool_dir.iterdir() if p.is_dir())

    def ship_once(self) -> int:
        """Ship one batch from every stream; returns events shipped."""
        return sum(self._ship_stream(stream) for stream in self.streams())

    def drain(self, max_rounds: int = 1000) -> int:
        total = 0
        for _ in range(max_rounds):
            shipped = self.ship_once()
            total += shipped
            if not shipped:
                break
        return total

    def _ship_stream(self, stream_dir: Path) -> int:
        cursor_path = stream_dir / CURSOR_FILE
        cursor = Cursor.load(cursor_path)
        if cursor.pending is not None:  # re-ship exactly the batch that was in flight
            result = read_records(stream_dir, cursor.committed, 1 << 30, until=cursor.pending)
        else:
            result = read_records(stream_dir, cursor.committed, self._batch)
        if not result.payloads:
            if result.end != cursor.committed:
                self.stats.corrupt_skips += result.corrupt_skips  # a torn tail passed over
                cursor.committed = result.end
                cursor.save(cursor_path)
            if stream_dir.name.startswith(ONE_SHOT_PREFIX) and cursor.pending is None:
                _retire(stream_dir)
            return 0
        end = result.end
        if cursor.pending is None:
            cursor.pending = end
            cursor.save(cursor_path)
        token = f"{self._token_prefix}{stream_dir.name}:{cursor.committed}:{end}"
        events = [self._decode(p, stream_dir.name) for p in result.payloads]
        rows = b"".join(
            json.dumps(clickhouse_row(e, stream_dir.name)).encode() + b"\n" for e in events
        )
        try:
            self._store.insert_rows(rows, token)
        except AirlockError as exc:
            self.stats.failures += 1
            self.stats.last_error = str(exc)
            log.warning("shipping %s failed, will retry: %s", stream_dir.name, exc)
            return 0
        cursor.committed, cursor.pending = end, None
        last = events[-1]  # kept in the cursor: a writer restarting on an emptied stream
        cursor.head = (last.seq, last.hash) if last.seq else cursor.head  # continues its chain
        cursor.save(cursor_path)
        self.stats.last_error = ""
        self.stats.shipped += len(result.payloads)
        self.stats.batches += 1
        self.stats.corrupt_skips += result.corrupt_skips
        self.stats.last_ship = time.time()
        self.stats.lag_seconds = max(0.0, self.stats.last_ship - events[0].ts.timestamp())
        self._delete_shipped(stream_dir, end)
        return len(result.payloads)

    @staticmethod
    def _decode(payload: bytes, stream: str) -> AuditEvent:
        try:
            return AuditEvent.from_bytes(payload)
        except ValueError:
            log.error("undecodable spool record in %s kept as raw detail", stream)
            return AuditEvent(kind="spool-corruption", detail={"raw_bytes": str(len(payload))})

    def _delete_shipped(self, stream_dir: Path, upto: Position) -> None:
        for number in list_segments(stream_dir):
            if number < upto.segment:
                (stream_dir / segment_name(number)).unlink(missing_ok=True)

    # Background loop -------------------------------------------------------

    def start(self, interval: float) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    shipped = self.ship_once()
                except Exception as exc:  # keep shipping; report, never die silently
                    self.stats.failures += 1
                    self.stats.last_error = f"{type(exc).__name__}: {exc}"
                    log.exception("shipper round failed")
                    shipped = 0
                if shipped < self._batch:  # caught up: let the next batch fill up
                    self._stop.wait(interval)

        self._thread = threading.Thread(target=loop, name="shipper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(30)
        self.drain()
