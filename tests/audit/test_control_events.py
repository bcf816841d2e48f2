"""Control-plane events: durable one-shot streams, shipped, then retired."""

from __future__ import annotations

import os
import time
from pathlib import Path

from gateway.audit.control_events import CLI_STREAM_PREFIX, record
from gateway.audit.events import AuditEvent
from gateway.audit.shipper import Shipper
from gateway.audit.spool import Position, read_records
from gateway.config import Settings


class ListStore:
    """A fake on purpose: only counts inserted rows (the real insert is tested elsewhere)."""

    name = "list"

    def __init__(self) -> None:
        self.rows: list[bytes] = []

    def insert_rows(self, rows: bytes, dedup_token: str) -> None:
        self.rows += [r for r in rows.split(b"\n") if r]


def test_each_command_writes_its_own_durable_stream(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    record(settings, AuditEvent(kind="task-created", task_id="t1"))
    record(settings, AuditEvent(kind="task-killed", task_id="t1"))
    streams = sorted(p for p in settings.spool_dir.iterdir() if p.is_dir())
    assert len(streams) == 2 and all(p.name.startswith(CLI_STREAM_PREFIX) for p in streams)
    chains = [
        [AuditEvent.from_bytes(r) for r in read_records(p, Position(1, 0), 10).payloads]
        for p in streams
    ]
    assert {chain[0].kind for chain in chains} == {"task-created", "task-killed"}
    for chain in chains:  # each command's stream is a chain sealed by a final checkpoint
        assert [e.seq for e in chain] == [1, 2]
        assert chain[1].kind == "audit-checkpoint" and chain[1].detail["final"] == "true"
        assert chain[1].detail["head_hash"] == chain[0].hash == chain[1].prev_hash


def test_shipped_one_shot_streams_are_removed_once_quiet(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    record(settings, AuditEvent(kind="task-created", task_id="t1"))
    store = ListStore()
    shipper = Shipper(settings.spool_dir, store)  # type: ignore[arg-type]
    assert shipper.drain() == 2  # the event and its checkpoint
    (stream,) = [p for p in settings.spool_dir.iterdir() if p.is_dir()]
    shipper.ship_once()
    assert stream.exists()  # too fresh: a writer may be starting
    old = time.time() - 60
    os.utime(stream, (old, old))
    shipper.ship_once()
    assert not stream.exists()
    assert len(store.rows) == 2  # shipped exactly once
