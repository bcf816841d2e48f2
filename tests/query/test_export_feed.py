"""``/v1/export/feed`` over a real chDB store: ingest order, late events, settle, ties, auth.

Events reach chDB the production way (spool → Shipper). chDB allows one data directory
per process at a time, so the module shares one store, closed at module teardown.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.audit.events import AuditEvent
from gateway.audit.shipper import Shipper
from gateway.audit.spool import SpoolWriter
from gateway.audit.store import open_store
from gateway.control.db import make_engine, make_sessionmaker
from gateway.control.keys import ApiKeyService
from gateway.export.feed import position_at
from gateway.query.app import AppDeps, create_app

NOW = datetime.now(UTC)


@dataclass
class Feed:
    client: TestClient
    spool: Path
    shipper: Shipper
    auditor: str
    viewer: str
    acme: str

    def ship(self, events: list[AuditEvent], stream: str = "proxy") -> None:
        writer = SpoolWriter(self.spool, stream)
        writer.write([e.to_bytes() for e in events])
        writer.close()
        assert self.shipper.drain() == len(events)

    def get(self, key: str, **params: Any) -> Any:
        return self.client.get(
            "/v1/export/feed", params=params, headers={"Authorization": f"Bearer {key}"}
        )

    def read_all(self, key: str, after: str = "", limit: int = 1000) -> tuple[list[str], str]:
        ids: list[str] = []
        while True:
            body = self.get(key, after=after, limit=limit, settle_ms=0).json()
            ids += [e["event_id"] for e in body["events"]]
            after = body["next_cursor"] or ""
            if not body["more"]:
                return ids, after


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Feed]:
    root = tmp_path_factory.mktemp("export-feed")
    store = open_store(None, root / "chdb")
    shipper = Shipper(root / "spool", store)
    keys = ApiKeyService(make_sessionmaker(make_engine(f"sqlite:///{root}/control.db")))
    app = create_app(AppDeps(store=store, keys=keys, shipper=shipper, spool_dir=root / "spool"))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield Feed(
                client=client,
                spool=root / "spool",
                shipper=shipper,
                auditor=keys.create(role="auditor")[1],
                viewer=keys.create(role="viewer")[1],
                acme=keys.create(role="auditor", tenant="acme")[1],
            )
    finally:
        store.close()


def events(n: int, ts: datetime, tenant: str = "default") -> list[AuditEvent]:
    return [
        AuditEvent(kind="http-request", ts=ts + timedelta(microseconds=i), tenant=tenant)
        for i in range(n)
    ]


def test_a_late_event_is_still_delivered_after_the_cursor(feed: Feed) -> None:
    recent = events(5, NOW)
    feed.ship(recent)
    seen, cursor = feed.read_all(feed.auditor)
    assert sorted(seen[-5:]) == sorted(e.event_id for e in recent)  # one insert: by id
    late = events(2, NOW - timedelta(hours=3), tenant="default")  # a backlog, shipped now
    feed.ship(late, stream="other-gateway")
    after, _ = feed.read_all(feed.auditor, after=cursor)
    assert sorted(after) == sorted(e.event_id for e in late)
    by_time = feed.client.get(
        "/v1/events",
        params={"order": "asc", "from": (NOW - timedelta(seconds=1)).isoformat()},
        headers={"Authorization": f"Bearer {feed.auditor}"},
    ).json()["events"]
    assert not {e["event_id"] for e in by_time} & set(after)  # event time would miss them


def test_pages_through_ties_exactly_once_in_order(feed: Feed) -> None:
    _, cursor = feed.read_all(feed.auditor)
    batch = events(25, NOW + timedelta(minutes=1))  # one insert: one ingested_at for all
    feed.ship(batch)
    seen, _ = feed.read_all(feed.auditor, after=cursor, limit=7)
    assert sorted(seen) == sorted(e.event_id for e in batch)
    assert len(seen) == len(set(seen)) == 25


def test_settle_holds_back_rows_just_ingested(feed: Feed) -> None:
    _, cursor = feed.read_all(feed.auditor)
    fresh = events(1, NOW)
    feed.ship(fresh)
    held = feed.get(feed.auditor, after=cursor, settle_ms=600000).json()
    assert held["events"] == [] and held["next_cursor"] == cursor and not held["more"]
    given = feed.get(feed.auditor, after=cursor, settle_ms=0).json()
    assert [e["event_id"] for e in given["events"]] == [fresh[0].event_id]
    assert given["events"][0]["ingested_at"].endswith("Z")


def test_a_rewind_position_replays_by_ingest_time(feed: Feed) -> None:
    everything, _ = feed.read_all(feed.auditor)
    since_an_hour, _ = feed.read_all(feed.auditor, after=position_at(NOW - timedelta(hours=1)))
    assert since_an_hour == everything  # all of it was ingested during this test
    future, _ = feed.read_all(feed.auditor, after=position_at(NOW + timedelta(hours=1)))
    assert future == []


def test_needs_auditor_and_keeps_tenant_scope(feed: Feed) -> None:
    assert feed.get(feed.viewer).status_code == 403
    feed.ship(events(2, NOW, tenant="acme"))
    scoped, _ = feed.read_all(feed.acme)
    assert len(scoped) == 2
    assert feed.get(feed.acme, tenant="default").status_code == 403
    assert feed.get(feed.auditor, after="garbage").json()["error"] == "invalid_request"
