"""ChainWriter: one unbroken chain across restarts, torn tails, shipped-away segments
and refused writes."""

from __future__ import annotations

import resource
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from gateway.audit.chain import GENESIS, compute_hash, event_view
from gateway.audit.events import AuditEvent
from gateway.audit.shipper import Shipper
from gateway.audit.spool import Position, encode_record, list_segments, read_records, segment_name
from gateway.errors import SpoolError
from tests.support.chain import chain_in


class ListStore:
    """Stands in for ClickHouse: these tests are about the spool side of the chain."""

    name = "list"

    def insert_rows(self, rows: bytes, dedup_token: str) -> None:
        pass


def stored(spool: Path, stream: str = "proxy") -> list[AuditEvent]:
    payloads = read_records(spool / stream, Position(1, 0), 1 << 20).payloads
    return [AuditEvent.from_bytes(p) for p in payloads]


def batch(n: int, tag: str) -> list[AuditEvent]:
    return [AuditEvent(kind="http-request", host=f"{tag}{i}.example") for i in range(n)]


def assert_one_chain(events: list[AuditEvent]) -> None:
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    prev = GENESIS
    for event in events:
        assert event.prev_hash == prev and event.hash == compute_hash(event_view(event))
        prev = event.hash


def test_a_restarted_writer_continues_the_chain(tmp_path: Path) -> None:
    writer = chain_in(tmp_path, "proxy")
    writer.write(batch(3, "a"))
    writer.close()
    writer = chain_in(tmp_path, "proxy")
    assert writer.head.seq == 3
    writer.write(batch(2, "b"))
    writer.close()
    events = stored(tmp_path)
    assert_one_chain(events)
    assert [e.host[0] for e in events] == ["a", "a", "a", "b", "b"]


def test_a_torn_tail_is_not_part_of_the_chain(tmp_path: Path) -> None:
    writer = chain_in(tmp_path, "proxy")
    writer.write(batch(3, "a"))
    writer.close()
    last = tmp_path / "proxy" / segment_name(list_segments(tmp_path / "proxy")[-1])
    torn = encode_record(AuditEvent(kind="http-request", host="torn").to_bytes())
    with open(last, "ab") as fh:
        fh.write(torn[: len(torn) // 2])  # the crash came mid-write
    writer = chain_in(tmp_path, "proxy")
    writer.write(batch(1, "b"))
    writer.close()
    events = stored(tmp_path)
    assert "torn" not in {e.host for e in events}
    assert_one_chain(events)


def test_the_head_survives_when_every_segment_was_shipped_and_deleted(tmp_path: Path) -> None:
    writer = chain_in(tmp_path, "proxy")
    writer.write(batch(3, "a"))
    writer.close()
    shipper = Shipper(tmp_path, ListStore())  # type: ignore[arg-type]
    chain_in(tmp_path, "proxy").close()  # a restart opens segment 2, so 1 is closed ...
    shipper.drain()
    shipper.drain()  # ... shipped, and deleted
    assert 1 not in list_segments(tmp_path / "proxy")
    writer = chain_in(tmp_path, "proxy")
    assert writer.head.seq == 3
    (event,) = writer.write(batch(1, "b"))
    writer.close()
    assert event.seq == 4 and event.prev_hash != GENESIS


@contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """A real write failure (EFBIG) from the kernel, not a mock."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old)


def test_a_short_write_keeps_its_whole_records_and_leaves_no_hole(tmp_path: Path) -> None:
    """Records of a refused write that did reach the disk may already be shipped: they
    stay in the chain, the torn one is skipped, and the next write goes on after them."""
    writer = chain_in(tmp_path, "proxy")
    writer.write(batch(2, "a"))
    segment = tmp_path / "proxy" / segment_name(list_segments(tmp_path / "proxy")[-1])
    size = segment.stat().st_size
    with file_size_limit(size + 2000), pytest.raises(SpoolError, match="short write") as err:
        writer.write(batch(10, "cut"))
    kept = err.value.kept
    assert 0 < kept < 10 and writer.head.seq == 2 + kept
    writer.write(batch(1, "b"))  # a new segment, after the torn tail
    writer.close()
    events = stored(tmp_path)
    assert_one_chain(events)
    assert [e.host[0] for e in events] == ["a", "a"] + ["c"] * kept + ["b"]


def test_a_write_the_disk_refuses_outright_changes_nothing(tmp_path: Path) -> None:
    writer = chain_in(tmp_path, "proxy")
    writer.write(batch(2, "a"))
    segment = tmp_path / "proxy" / segment_name(list_segments(tmp_path / "proxy")[-1])
    with file_size_limit(segment.stat().st_size), pytest.raises(SpoolError) as err:
        writer.write(batch(3, "lost"))
    assert err.value.kept == 0 and writer.head.seq == 2
    writer.write(batch(1, "b"))
    writer.close()
    events = stored(tmp_path)
    assert_one_chain(events)
    assert [e.host[0] for e in events] == ["a", "a", "b"]
