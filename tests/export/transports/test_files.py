"""Rotating files: every line lands, rotation keeps ``keep`` old files, errors are transient."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.export.sink import Record, TransientError
from gateway.export.transports.files import RotatingFile
from tests.export.sink_support import make_records


def all_lines(path: Path) -> list[str]:
    files = sorted(path.parent.glob(path.name + ".*"), key=lambda p: -int(p.suffix[1:]))
    return [line for f in [*files, path] for line in f.read_text().splitlines()]


def test_lines_append_across_pushes_one_record_per_line(tmp_path: Path) -> None:
    path = tmp_path / "out" / "airlock.jsonl"
    sink = RotatingFile(path)
    records = make_records(5)
    records[1] = Record(records[1].event, "has\nnewline")
    sink.push(records[:2])
    sink.push(records[2:])
    sink.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 5
    assert lines[1] == "has newline"
    assert lines[4] == records[4].line


def test_rotation_keeps_every_line_in_order_and_only_keep_files(tmp_path: Path) -> None:
    path = tmp_path / "airlock.jsonl"
    sink = RotatingFile(path, max_bytes=150, keep=3)
    records = make_records(12)
    for i in range(0, 12, 2):
        sink.push(records[i : i + 2])
    sink.close()
    rotated = sorted(p.name for p in tmp_path.glob("airlock.jsonl.*"))
    assert rotated == ["airlock.jsonl.1", "airlock.jsonl.2", "airlock.jsonl.3"]
    assert all(p.stat().st_size <= 150 for p in tmp_path.iterdir())
    kept = all_lines(path)
    assert kept == [r.line for r in records][-len(kept) :]  # oldest dropped, order kept
    assert len(kept) < 12


def test_disk_error_is_transient(tmp_path: Path) -> None:
    sink = RotatingFile(Path("/dev/full"))  # every write fails with ENOSPC
    with pytest.raises(TransientError, match="No space"):
        sink.push(make_records(1))
