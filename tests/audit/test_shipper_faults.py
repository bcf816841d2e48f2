"""Shipper under spool faults, on real chDB: a torn last record, a 100 % full disk.

Events are written by the real ``SpoolWriter``; the torn record is the first half
of a real encoded record appended to the last segment, as a writer killed in the
middle of its append leaves it. The full disk is a real tmpfs (root only).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.audit.events import AuditEvent
from gateway.audit.schema import EVENTS_TABLE
from gateway.audit.shipper import Shipper
from gateway.audit.spool import SpoolWriter, encode_record, list_segments, segment_name
from gateway.audit.store import ChdbStore, open_store
from gateway.errors import SpoolError
from tests.support.chain import chain_in


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> ChdbStore:
    s = open_store(None, tmp_path_factory.mktemp("chdb"))
    assert isinstance(s, ChdbStore)
    return s


def hosts(store: ChdbStore, stream: str) -> list[str]:
    rows = store.query(
        f"SELECT host FROM {EVENTS_TABLE} WHERE spool_stream = {{s:String}} ORDER BY host",
        {"s": stream},
    )
    return [str(r["host"]) for r in rows]


def write(spool: Path, stream: str, names: list[str]) -> None:
    """One writer run (a process lifetime): a new segment, then the events."""
    writer = SpoolWriter(spool, stream)
    writer.write([AuditEvent(kind="http-request", host=n).to_bytes() for n in names])
    writer.close()


def tear(spool: Path, stream: str) -> None:
    """Half a record at the end of the last segment: the writer died mid-append."""
    last = spool / stream / segment_name(list_segments(spool / stream)[-1])
    record = encode_record(AuditEvent(kind="http-request", host="torn").to_bytes())
    with open(last, "ab") as fh:
        fh.write(record[: len(record) // 2])


def test_torn_last_record_is_skipped_counted_and_later_writes_ship(
    tmp_path: Path, store: ChdbStore
) -> None:
    before = [f"b{i:03d}" for i in range(40)]
    write(tmp_path, "t1", before)
    tear(tmp_path, "t1")
    shipper = Shipper(tmp_path, store, batch_events=15)
    assert shipper.drain() == 40  # the torn tail of the live segment waits
    after = [f"c{i:03d}" for i in range(10)]
    write(tmp_path, "t1", after)  # the restarted writer begins a new segment
    assert shipper.drain() == 10
    assert hosts(store, "t1") == before + after  # each once, the torn record never
    assert shipper.stats.corrupt_skips == 1
    assert shipper.drain() == 0


def test_torn_tail_is_counted_when_everything_before_it_was_shipped(
    tmp_path: Path, store: ChdbStore
) -> None:
    write(tmp_path, "t2", ["a0", "a1"])
    shipper = Shipper(tmp_path, store)
    assert shipper.drain() == 2  # caught up, as a live shipper is
    tear(tmp_path, "t2")
    writer = SpoolWriter(tmp_path, "t2")  # restart: new, still empty segment
    assert shipper.drain() == 0
    writer.write([AuditEvent(kind="http-request", host="a2").to_bytes()])
    writer.close()
    assert shipper.drain() == 1
    assert hosts(store, "t2") == ["a0", "a1", "a2"]
    assert shipper.stats.corrupt_skips == 1


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(tmp_path)]
    done = subprocess.run(mount, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.strip()}")
    try:
        yield tmp_path
    finally:
        subprocess.run(["umount", "-l", str(tmp_path)], check=False)


def fill_up(path: Path) -> None:
    """Write ``path`` until the file system refuses even one more byte."""
    with open(path, "wb", buffering=0) as fh:
        for size in (1 << 16, 1 << 12, 1 << 8, 1):
            try:
                while True:
                    fh.write(b"\0" * size)
            except OSError:
                pass


def test_shipper_frees_a_full_spool_disk(full_disk: Path, store: ChdbStore) -> None:
    writer = chain_in(full_disk / "spool", "f", segment_bytes=32 << 10)  # as open_chain
    written = 0
    with pytest.raises(SpoolError):
        for i in range(10_000):
            writer.write([AuditEvent(kind="http-request", host=f"f{i:05d}")])
            written += 1
    fill_up(full_disk / "another-writer")  # what the spool left is gone too
    shipper = Shipper(full_disk / "spool", store)
    assert shipper.drain() == written
    assert len(hosts(store, "f")) == written
    assert len(list_segments(full_disk / "spool" / "f")) == 1  # shipped ones deleted
    writer.write([AuditEvent(kind="http-request", host="after")])  # space again
    writer.close()
