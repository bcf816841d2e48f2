"""Rotating files: one rendered record per line, fsync'd before the batch counts as done.

``PATH`` grows to ``max_bytes``; then it becomes ``PATH.1``, ``PATH.1`` becomes ``PATH.2``
and so on, keeping ``keep`` old files (the oldest is deleted). A batch never straddles
two files. A write or fsync error (disk full) is transient: the batch is retried.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from gateway.export.sink import Record, Rejected, TransientError


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class RotatingFile:
    name = "file"

    def __init__(self, path: Path, *, max_bytes: int = 100 << 20, keep: int = 10) -> None:
        self.path, self.max_bytes, self.keep = path, max_bytes, keep
        self._fd: int | None = None

    def push(self, batch: Sequence[Record]) -> list[Rejected]:
        data = "".join(r.line.replace("\n", " ") + "\n" for r in batch).encode()
        try:
            fd = self._open()
            size = os.fstat(fd).st_size
            if size and size + len(data) > self.max_bytes:
                self._rotate()
                fd, size = self._open(), 0
            self._write_all(fd, size, data)
        except OSError as exc:
            self.close()
            raise TransientError(f"file {self.path}: {exc.strerror or exc}") from None
        return []

    @staticmethod
    def _write_all(fd: int, size: int, data: bytes) -> None:
        """Write and fsync, or cut the file back: a retry must not follow half a line."""
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError:
            try:
                os.ftruncate(fd, size)
            except OSError:
                pass  # the original error is the one to report
            raise

    def _open(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            _fsync_dir(self.path.parent)
        return self._fd

    def _rotate(self) -> None:
        self.close()
        oldest = self.path.with_name(f"{self.path.name}.{self.keep}")
        oldest.unlink(missing_ok=True)
        for n in range(self.keep - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                older.rename(self.path.with_name(f"{self.path.name}.{n + 1}"))
        self.path.rename(self.path.with_name(f"{self.path.name}.1"))
        _fsync_dir(self.path.parent)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
