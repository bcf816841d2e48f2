"""Shipper: real chDB, exactly-once after crashes between insert and cursor commit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.audit.events import AuditEvent
from gateway.audit.schema import EVENTS_TABLE
from gateway.audit.shipper import Cursor, Shipper
from gateway.audit.spool import SpoolWriter
from gateway.audit.store import ChdbStore, open_store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbStore]:
    s = open_store(None, tmp_path_factory.mktemp("chdb"))
    assert isinstance(s, ChdbStore)
    yield s
    s.close()  # chDB allows one open data directory per process


def counts(store: ChdbStore, stream: str) -> tuple[int, int]:
    rows = store.query(
        f"SELECT count() AS n, uniqExact(event_id) AS u FROM {EVENTS_TABLE} "
        "WHERE spool_stream = {s:String}",
        {"s": stream},
    )
    return int(rows[0]["n"]), int(rows[0]["u"])


def write_events(spool: Path, stream: str, n: int, segment_bytes: int = 16 << 20) -> None:
    writer = SpoolWriter(spool, stream, segment_bytes=segment_bytes)
    writer.write([AuditEvent(kind="http-request", host=f"h{i}").to_bytes() for i in range(n)])
    writer.close()


def test_ships_everything_once_and_deletes_segments(tmp_path: Path, store: ChdbStore) -> None:
    writer = SpoolWriter(tmp_path, "a", segment_bytes=8192)
    for i in range(120):
        writer.write([AuditEvent(kind="http-request", host=f"h{i}").to_bytes()])
    shipper = Shipper(tmp_path, store, batch_events=50)
    assert shipper.drain() == 120
    assert counts(store, "a") == (120, 120)
    assert shipper.drain() == 0
    segments = list((tmp_path / "a").glob("*.seg"))
    assert len(segments) == 1  # only the live one is kept
    writer.close()


def test_crash_after_insert_before_commit_does_not_duplicate(
    tmp_path: Path, store: ChdbStore
) -> None:
    write_events(tmp_path, "b", 30)
    shipper = Shipper(tmp_path, store, batch_events=30)
    cursor_path = tmp_path / "b" / "cursor.bin"
    before = Cursor.load(cursor_path)
    assert shipper.drain() == 30
    # Simulate a crash after the insert landed but before the cursor commit:
    # restore the cursor to "pending = the batch just inserted".
    after = Cursor.load(cursor_path)
    Cursor(before.committed, after.committed, generation=after.generation).save(cursor_path)
    write_events(tmp_path, "b", 5)  # more data arrived meanwhile
    assert Shipper(tmp_path, store, batch_events=1000).drain() == 35  # 30 re-sent, 5 new
    assert counts(store, "b") == (35, 35)


def test_store_failure_keeps_events_for_retry(tmp_path: Path, store: ChdbStore) -> None:
    write_events(tmp_path, "c", 10)

    class DeadStore:
        """A fake on purpose: stands in for a ClickHouse that refuses inserts."""

        name = "dead"

        def insert_rows(self, rows: bytes, dedup_token: str) -> None:
            from gateway.errors import StoreUnavailableError

            raise StoreUnavailableError("down")

    dead = Shipper(tmp_path, DeadStore(), batch_events=100)  # type: ignore[arg-type]
    assert dead.ship_once() == 0
    assert dead.stats.failures == 1
    assert Cursor.load(tmp_path / "c" / "cursor.bin").pending is not None
    assert Shipper(tmp_path, store).drain() == 10
    assert counts(store, "c") == (10, 10)


def test_two_gateways_sharing_one_store_both_land(tmp_path: Path, store: ChdbStore) -> None:
    """Same stream name, same positions, different gateways: different dedup tokens."""
    for gateway in ("gw-a", "gw-b"):
        spool = tmp_path / gateway
        write_events(spool, "shared", 7)
        assert Shipper(spool, store, gateway_id=gateway).drain() == 7
    assert counts(store, "shared") == (14, 14)
