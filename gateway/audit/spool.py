"""The on-disk audit spool: a write-ahead log per writer stream.

Layout: ``<spool>/<stream>/<segment:012d>.seg`` plus ``cursor.json`` (owned by
the shipper) and ``writer.lock`` (held by the single writer). A record is
``<u32 length><u32 crc32(payload)><payload>``. A writer never reopens an old
segment: each start begins a new one, so a torn tail left by a crash stays at the
end of a closed segment, where the reader skips it (it was never acknowledged,
because an append is acknowledged only after fsync).

Delivery: ``append`` blocks until the record is durable (group commit: one fsync
for every record queued meanwhile). When the spool is over its size limit or the
disk fails, ``append`` raises ``SpoolError`` and the proxy refuses traffic.
"""

from __future__ import annotations

import fcntl
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import SpoolError

HEADER = struct.Struct("<II")
MAX_RECORD = 16 << 20


def segment_name(number: int) -> str:
    return f"{number:012d}.seg"


def list_segments(stream_dir: Path) -> list[int]:
    return sorted(int(p.stem) for p in stream_dir.glob("*.seg") if p.stem.isdigit())


def encode_record(payload: bytes) -> bytes:
    if len(payload) > MAX_RECORD:
        raise SpoolError(f"audit record of {len(payload)} bytes exceeds {MAX_RECORD}")
    return HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def complete_records(payloads: list[bytes], written: int) -> int:
    """How many of ``payloads`` are whole within the first ``written`` bytes."""
    count, used = 0, 0
    for payload in payloads:
        used += HEADER.size + len(payload)
        if used > written:
            break
        count += 1
    return count


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def disk_free(path: Path) -> int:
    """Bytes an unprivileged writer may still use on the file system of ``path``."""
    try:
        stat = os.statvfs(path)
    except OSError:
        return 0
    return stat.f_bavail * stat.f_frsize


def spool_bytes(spool_dir: Path) -> int:
    return sum(p.stat().st_size for p in spool_dir.glob("*/*.seg") if p.exists())


class SpoolWriter:
    """Single writer of one stream. Not thread-safe: the group committer owns it."""

    def __init__(self, spool_dir: Path, stream: str, *, segment_bytes: int = 16 << 20) -> None:
        self.stream_dir = spool_dir / stream
        self.stream_dir.mkdir(parents=True, exist_ok=True)
        self._segment_bytes = segment_bytes
        self._lock_fd = os.open(self.stream_dir / "writer.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise SpoolError(f"spool stream {stream!r} already has a writer") from None
        existing = list_segments(self.stream_dir)
        self._number = (existing[-1] + 1) if existing else 1
        self._fd: int | None = self._open_segment()
        self._size = 0

    def _open_segment(self) -> int:
        path = self.stream_dir / segment_name(self._number)
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
        fsync_dir(self.stream_dir)
        return fd

    def _next_segment(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            self._number += 1
        self._fd = self._open_segment()
        self._size = 0

    def write(self, payloads: list[bytes]) -> None:
        """Append records and fsync; raises SpoolError if the disk refuses.

        Nothing written is ever taken back: a reader may already have shipped it. When
        a write comes up short or its fsync fails, the segment is closed where it
        stands (a torn last record is skipped by readers of a closed segment) and the
        error says how many records are complete in it (``kept``): they stay part of
        the stream, so no position is used twice. The next write starts a new segment.
        """
        data = b"".join(encode_record(p) for p in payloads)
        try:
            if self._fd is None or (self._size and self._size + len(data) > self._segment_bytes):
                self._next_segment()
            assert self._fd is not None
            written = os.write(self._fd, data)  # a regular file: all, some, or an error
        except OSError as exc:
            raise SpoolError(f"audit spool write failed: {exc.strerror or exc}") from None
        failure = f"short write: {written} of {len(data)} bytes" if written < len(data) else ""
        if not failure:
            try:
                os.fdatasync(self._fd)
            except OSError as exc:
                failure = f"fsync failed: {exc.strerror or exc}"
        if failure:
            os.close(self._fd)
            self._fd = None
            self._number += 1
            error = SpoolError(f"audit spool write failed: {failure}")
            error.kept = complete_records(payloads, written)
            raise error
        self._size += len(data)

    def close(self) -> None:
        try:
            if self._fd is not None:
                os.close(self._fd)
        finally:
            os.close(self._lock_fd)


@dataclass(frozen=True, order=True)
class Position:
    segment: int
    offset: int

    def __str__(self) -> str:
        return f"{self.segment}.{self.offset}"


@dataclass
class ReadResult:
    payloads: list[bytes]
    end: Position
    corrupt_skips: int = 0


def read_records(
    stream_dir: Path, start: Position, max_records: int, until: Position | None = None
) -> ReadResult:
    """Read up to ``max_records`` complete records from ``start`` (and before ``until``).

    Stops at the live end of the newest segment. In a closed segment (a newer
    one exists) a torn or damaged tail is skipped and counted.
    """
    segments = [s for s in list_segments(stream_dir) if s >= start.segment]
    payloads: list[bytes] = []
    pos = start
    skips = 0
    for index, number in enumerate(segments):
        if until is not None and number > until.segment:
            break
        if number != pos.segment:
            pos = Position(number, 0)
        stop = until.offset if until is not None and number == until.segment else None
        path = stream_dir / segment_name(number)
        clean = _read_segment(path, pos.offset, payloads, max_records, stop)
        pos = Position(number, clean)
        if len(payloads) >= max_records or stop is not None:
            break
        if index == len(segments) - 1:
            break
        if clean < path.stat().st_size:
            skips += 1
    return ReadResult(payloads, pos, skips)


def last_record(stream_dir: Path) -> bytes | None:
    """The newest complete record of a stream (a torn tail is ignored), if any."""
    for number in reversed(list_segments(stream_dir)):
        records: list[bytes] = []
        try:
            _read_segment(stream_dir / segment_name(number), 0, records, 1 << 62, None)
        except FileNotFoundError:
            continue  # shipped and deleted meanwhile
        if records:
            return records[-1]
    return None


def _read_segment(
    path: Path, offset: int, out: list[bytes], max_records: int, stop: int | None
) -> int:
    """Append complete, checksummed records to ``out``; return the offset after them."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        while len(out) < max_records and (stop is None or offset < stop):
            header = fh.read(HEADER.size)
            if len(header) < HEADER.size:
                break
            length, crc = HEADER.unpack(header)
            if length > MAX_RECORD:
                break
            payload = fh.read(length)
            if len(payload) < length or zlib.crc32(payload) != crc:
                break
            out.append(payload)
            offset += HEADER.size + length
    return offset
