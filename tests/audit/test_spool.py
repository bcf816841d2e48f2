"""Spool: durable group commit, torn-tail recovery, single writer, capacity."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway.audit.committer import GroupCommitter
from gateway.audit.events import AuditEvent
from gateway.audit.spool import (
    Position,
    SpoolWriter,
    encode_record,
    list_segments,
    read_records,
    segment_name,
)
from gateway.errors import SpoolError
from tests.support.chain import chain_in


def test_records_round_trip_across_segments(tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path, "s", segment_bytes=4096 + 1)
    payloads = [f"event-{i}".encode() * 40 for i in range(50)]
    for p in payloads:
        writer.write([p])
    writer.close()
    assert len(list_segments(tmp_path / "s")) > 1
    got = read_records(tmp_path / "s", Position(1, 0), 1000)
    assert got.payloads == payloads
    assert got.corrupt_skips == 0


def test_reader_resumes_from_position(tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path, "s")
    writer.write([b"a", b"b", b"c"])
    first = read_records(tmp_path / "s", Position(1, 0), 2)
    assert first.payloads == [b"a", b"b"]
    rest = read_records(tmp_path / "s", first.end, 10)
    assert rest.payloads == [b"c"]
    writer.write([b"d"])
    assert read_records(tmp_path / "s", rest.end, 10).payloads == [b"d"]


def test_torn_tail_in_live_segment_waits(tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path, "s")
    writer.write([b"whole"])
    seg = tmp_path / "s" / segment_name(1)
    with open(seg, "ab") as fh:  # half a record, as if the writer died mid-write
        fh.write(encode_record(b"partial-record")[:7])
    got = read_records(tmp_path / "s", Position(1, 0), 10)
    assert got.payloads == [b"whole"]
    assert got.end == Position(1, len(encode_record(b"whole")))


def test_torn_tail_skipped_once_writer_restarts(tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path, "s")
    writer.write([b"before-crash"])
    writer.close()
    with open(tmp_path / "s" / segment_name(1), "ab") as fh:
        fh.write(encode_record(b"never-acknowledged")[:-3])
    second = SpoolWriter(tmp_path, "s")  # restart: a new segment
    second.write([b"after-restart"])
    got = read_records(tmp_path / "s", Position(1, 0), 10)
    assert got.payloads == [b"before-crash", b"after-restart"]
    assert got.corrupt_skips == 1


def test_checksum_mismatch_is_not_returned(tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path, "s")
    writer.write([b"good", b"evil"])
    seg = tmp_path / "s" / segment_name(1)
    data = bytearray(seg.read_bytes())
    data[-1] ^= 0xFF
    seg.write_bytes(bytes(data))
    assert read_records(tmp_path / "s", Position(1, 0), 10).payloads == [b"good"]


def test_second_writer_on_stream_is_refused(tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path, "s")
    with pytest.raises(SpoolError, match="already has a writer"):
        SpoolWriter(tmp_path, "s")
    writer.close()


async def test_group_commit_acknowledges_concurrent_appends(tmp_path: Path) -> None:
    committer = GroupCommitter(chain_in(tmp_path, "p"), tmp_path, max_bytes=1 << 30)
    events = [AuditEvent(kind="http-request", host=f"h{i}") for i in range(300)]
    await asyncio.gather(*(committer.append(e) for e in events))
    committer.close()
    stored = [
        AuditEvent.from_bytes(p)
        for p in read_records(tmp_path / "p", Position(1, 0), 1000).payloads
    ]
    requests = [e for e in stored if e.kind == "http-request"]
    assert sorted(e.host for e in requests) == sorted(e.host for e in events)
    assert [e.seq for e in stored] == list(range(1, len(stored) + 1))  # one unbroken chain
    assert stored[-1].kind == "audit-checkpoint" and stored[-1].detail["final"] == "true"
    assert committer.commits < 300  # fsyncs were shared


def test_full_spool_refuses_instead_of_dropping(tmp_path: Path) -> None:
    committer = GroupCommitter(chain_in(tmp_path, "p"), tmp_path, max_bytes=2000)
    committer.append_sync(AuditEvent(kind="http-request", path="x" * 3000))
    import time

    time.sleep(0.6)
    with pytest.raises(SpoolError, match="audit spool full"):
        committer.check_capacity()  # new traffic is refused ...
    committer.append_sync(AuditEvent(kind="http-request"))  # ... admitted traffic is recorded
    committer.close()
    stored = read_records(tmp_path / "p", Position(1, 0), 10).payloads
    assert [AuditEvent.from_bytes(p).kind for p in stored].count("http-request") == 2


def test_a_writer_opens_its_chain_with_a_checkpoint_whatever_the_clock(tmp_path: Path) -> None:
    """Even when the interval is longer than the machine's uptime (monotonic clock)."""
    committer = GroupCommitter(
        chain_in(tmp_path, "p"), tmp_path, max_bytes=1 << 30, checkpoint_seconds=1e12
    )
    committer.append_sync(AuditEvent(kind="component-start"))
    committer.close()
    stored = [
        AuditEvent.from_bytes(p) for p in read_records(tmp_path / "p", Position(1, 0), 10).payloads
    ]
    assert [e.kind for e in stored] == ["audit-checkpoint", "component-start", "audit-checkpoint"]
