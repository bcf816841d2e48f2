"""Retention through a real ClickHouse TTL (chDB): expired rows go, held rows stay."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.audit.events import AuditEvent
from gateway.audit.retention import RetentionManager, has_ttl, ttl_statement
from gateway.audit.schema import EVENTS_TABLE, Layout
from gateway.audit.shipper import Shipper
from gateway.audit.store import ChdbStore, open_store
from gateway.control.db import make_engine, make_sessionmaker
from gateway.control.holds import HoldService
from gateway.errors import StoreUnavailableError
from tests.support.chain import chain_in

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=10)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbStore]:
    s = open_store(None, tmp_path_factory.mktemp("chdb"))
    assert isinstance(s, ChdbStore)
    yield s
    s.close()


def seed(tmp: Path, store: ChdbStore) -> None:
    """Old events of alice (acme), bob (acme) and carol (globex), and recent ones."""
    store.execute(f"TRUNCATE TABLE {EVENTS_TABLE}")
    events = [
        AuditEvent(kind="http-request", ts=ts, tenant=tenant, agent=agent, host=f"{agent}.x")
        for ts in (OLD, OLD + timedelta(hours=1), NOW)
        for tenant, agent in (("acme", "alice"), ("acme", "bob"), ("globex", "carol"))
    ]
    writer = chain_in(tmp / "spool", "proxy")
    writer.write(events)
    writer.close()
    Shipper(tmp / "spool", store).drain()


def survivors(store: ChdbStore) -> set[tuple[str, bool]]:
    store.execute(f"OPTIMIZE TABLE {EVENTS_TABLE} FINAL")  # run the TTL merge now
    rows = store.query(f"SELECT agent, ts FROM {EVENTS_TABLE} WHERE kind = 'http-request'")
    return {(r["agent"], r["ts"] < (NOW - timedelta(days=1)).strftime("%Y-%m-%d")) for r in rows}


def manager(tmp: Path, store: ChdbStore, days: int, seen: list[AuditEvent]) -> RetentionManager:
    holds = HoldService(make_sessionmaker(make_engine(f"sqlite:///{tmp / 'control.db'}")))
    return RetentionManager(store, Layout(), days, holds, seen.append)


def test_expired_events_go_except_those_under_an_open_hold(
    tmp_path: Path, store: ChdbStore
) -> None:
    seed(tmp_path, store)
    seen: list[AuditEvent] = []
    retention = manager(tmp_path, store, 0, seen)  # holds first, retention switched on after
    hold = retention.open("acme", "alice", OLD - timedelta(days=1), None, "matter 42", by="key-1")
    retention.open("globex", "", OLD - timedelta(days=1), OLD + timedelta(minutes=30), "m", by="k")
    assert len(survivors(store)) == 6
    retention = manager(tmp_path, store, 3, seen)
    retention.sync()
    assert survivors(store) == {
        ("alice", True),  # held: acme/alice, open-ended
        ("carol", True),  # held: globex, the first old event only (the window ends before)
        ("alice", False),
        ("bob", False),
        ("carol", False),
    }
    assert [e.kind for e in seen] == ["legal-hold-opened", "legal-hold-opened"]
    assert seen[0].detail["reason"] == "matter 42" and seen[0].detail["by"] == "key-1"

    retention.release(hold.id, by="key-1")
    assert ("alice", True) not in survivors(store)  # released: normal retention again
    assert seen[-1].kind == "legal-hold-released"


def test_no_retention_means_no_ttl_and_nothing_deleted(tmp_path: Path, store: ChdbStore) -> None:
    seed(tmp_path, store)
    retention = manager(tmp_path, store, 3, [])
    retention.sync()
    assert has_ttl(store, Layout())
    forever = manager(tmp_path, store, 0, [])
    assert forever.sync() == "REMOVE TTL" and not has_ttl(store, Layout())
    seed(tmp_path, store)
    assert len(survivors(store)) == 6


def test_hold_values_cannot_break_out_of_the_ttl_expression(tmp_path: Path) -> None:
    holds = HoldService(make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'c.db'}")))
    hold = holds.open("acme' OR 1=1 --", "a\\'b", OLD, None, "r")
    sql = ttl_statement(Layout(), 3, [hold])
    assert sql is not None and "tenant = 'acme\\' OR 1=1 --'" in sql and "'a\\\\\\'b'" in sql


class NoAlter:
    """The real store, except that ALTER is refused, as for a user without the grant
    (no second ClickHouse user can be created in embedded chDB)."""

    def __init__(self, store: ChdbStore) -> None:
        self._store = store
        self.name = "no-alter"

    def execute(self, sql: str) -> None:
        if sql.startswith("ALTER"):
            raise StoreUnavailableError("Not enough privileges")
        self._store.execute(sql)

    def query(self, sql: str, params: dict[str, object] | None = None) -> list[dict[str, object]]:
        return self._store.query(sql, params)


def test_a_hold_that_cannot_be_enforced_is_not_kept(tmp_path: Path, store: ChdbStore) -> None:
    holds = HoldService(make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'c.db'}")))
    seen: list[AuditEvent] = []
    retention = RetentionManager(NoAlter(store), Layout(), 3, holds, seen.append, "gw")  # type: ignore[arg-type]
    with pytest.raises(StoreUnavailableError):
        retention.open("acme", "", OLD, None, "matter", by="k")
    assert holds.list() == [] and seen == []


def test_a_release_the_ttl_cannot_follow_leaves_the_hold_open(
    tmp_path: Path, store: ChdbStore
) -> None:
    holds = HoldService(make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'c.db'}")))
    hold = holds.open("acme", "", OLD, None, "matter")
    seen: list[AuditEvent] = []
    retention = RetentionManager(NoAlter(store), Layout(), 3, holds, seen.append, "gw")  # type: ignore[arg-type]
    with pytest.raises(StoreUnavailableError):
        retention.release(hold.id, by="k")
    assert [h.id for h in holds.list(open_only=True)] == [hold.id] and seen == []


def test_releasing_twice_records_once(tmp_path: Path, store: ChdbStore) -> None:
    seen: list[AuditEvent] = []
    retention = manager(tmp_path, store, 0, seen)
    hold = retention.open("acme", "", OLD, None, "matter", by="k")
    retention.release(hold.id, by="k")
    retention.release(hold.id, by="k")
    assert [e.kind for e in seen] == ["legal-hold-opened", "legal-hold-released"]
