"""The shipper's per-stream cursor, updated in place so a full disk cannot stop it.

``cursor.bin`` holds two fixed 1 KiB slots, allocated when the file is made. Each
save overwrites the older slot (``generation % 2``) with ``<crc32><generation>
<length><json>`` and fsyncs; loading takes the valid slot with the highest
generation. Overwriting allocated blocks needs no free space, so the shipper
keeps shipping (and deleting shipped segments, which frees the disk) when the
spool's disk is full; a torn slot write leaves the other slot in force.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from gateway.audit.spool import Position, fsync_dir, list_segments

CURSOR_FILE = "cursor.bin"
LEGACY_FILE = "cursor.json"  # written by versions before the slotted cursor
SLOT = 1024
SLOT_HEADER = struct.Struct("<IQI")  # crc32(generation + body), generation, body length


@dataclass
class Cursor:
    committed: Position
    pending: Position | None = None
    head: tuple[int, str] | None = None  # (seq, hash) of the last shipped chain link
    generation: int = 0

    @classmethod
    def load(cls, path: Path) -> Cursor:
        """The cursor at ``path`` (a stream's ``cursor.bin``); a fresh one if none."""
        raw: dict[str, object] | None = None
        generation = 0
        if path.exists():
            raw, generation = _newest_slot(path.read_bytes())
        elif (path.parent / LEGACY_FILE).exists():
            raw = json.loads((path.parent / LEGACY_FILE).read_text())
        if raw is None:
            first = list_segments(path.parent)
            return cls(Position(first[0] if first else 1, 0))
        pending, head = raw.get("pending"), raw.get("head")
        return cls(
            Position(*raw["committed"]),  # type: ignore[misc]
            Position(*pending) if pending else None,  # type: ignore[misc]
            (int(head[0]), str(head[1])) if head else None,  # type: ignore[index]
            generation,
        )

    def save(self, path: Path) -> None:
        body = json.dumps(
            {
                "committed": [self.committed.segment, self.committed.offset],
                "pending": [self.pending.segment, self.pending.offset] if self.pending else None,
                "head": list(self.head) if self.head else None,
            }
        ).encode()
        generation = self.generation + 1
        stamp = struct.pack("<Q", generation)
        record = SLOT_HEADER.pack(zlib.crc32(stamp + body), generation, len(body)) + body
        if len(record) > SLOT:
            raise ValueError("cursor record does not fit its slot")
        created = not path.exists()
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < 2 * SLOT:
                os.posix_fallocate(fd, 0, 2 * SLOT)
            os.pwrite(fd, record.ljust(SLOT, b"\0"), (generation % 2) * SLOT)
            os.fdatasync(fd)
        finally:
            os.close(fd)
        if created:
            fsync_dir(path.parent)
        self.generation = generation


def _newest_slot(data: bytes) -> tuple[dict[str, object] | None, int]:
    best: tuple[dict[str, object] | None, int] = (None, 0)
    for index in (0, 1):
        slot = data[index * SLOT : (index + 1) * SLOT]
        if len(slot) < SLOT_HEADER.size:
            continue
        crc, generation, length = SLOT_HEADER.unpack_from(slot)
        body = slot[SLOT_HEADER.size : SLOT_HEADER.size + length]
        if len(body) != length or zlib.crc32(struct.pack("<Q", generation) + body) != crc:
            continue
        if generation > best[1]:
            best = (json.loads(body), generation)
    return best


def preallocate(stream_dir: Path) -> None:
    """Make the cursor file now, while the disk has room: later saves only overwrite."""
    path = stream_dir / CURSOR_FILE
    if path.exists():
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.posix_fallocate(fd, 0, 2 * SLOT)
        os.fdatasync(fd)
    finally:
        os.close(fd)
    fsync_dir(stream_dir)
