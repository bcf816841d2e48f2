"""Durable cursors in the control-plane database: SQLite (the default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete

from gateway.control.db import make_engine, make_sessionmaker
from gateway.control.models import ExportCursor, ExportDeadLetter
from gateway.export.cursor import CursorStore
from gateway.export.sink import Record, Rejected
from tests.export.sink_support import make_event
from tests.support.airlock import free_port
from tests.support.postgres import PostgresServer, available


@pytest.fixture(scope="module")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    why = available()
    if why:
        pytest.skip(f"no PostgreSQL server can run here: {why}")
    server = PostgresServer(tmp_path_factory.mktemp("pg"), free_port()).start()
    yield server.url
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> CursorStore:
    """The default database, and the production one (compare-and-set must hold on both)."""
    if request.param == "sqlite":
        return CursorStore(make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'control.db'}")))
    sessions = make_sessionmaker(make_engine(request.getfixturevalue("pg_url")))
    with sessions.begin() as db:
        db.execute(delete(ExportDeadLetter))
        db.execute(delete(ExportCursor))
    return CursorStore(sessions)


def test_new_cursor_starts_where_asked_and_survives_a_new_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'control.db'}"
    at = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)
    store = CursorStore(make_sessionmaker(make_engine(url)))
    state = store.load("siem", ("pos-1", at))
    assert (state.position, state.position_at, state.generation) == ("pos-1", at, 0)
    assert store.load("siem", ("ignored", None)).position == "pos-1"
    reopened = CursorStore(make_sessionmaker(make_engine(url)))
    assert reopened.load("siem").position_at == at


def test_advance_counts_and_writes_dead_letters_in_the_same_step(store: CursorStore) -> None:
    state = store.load("siem")
    assert store.claim("siem", "me", 30)
    event = make_event(1)
    dead = Rejected(Record(event, "the line"), "HTTP 400: bad")
    assert store.advance(
        state, "me", position="p2", position_at=None, delivered=9, lag_seconds=1.5, rejected=[dead]
    )
    after = store.load("siem")
    assert (after.position, after.delivered, after.dead_letters, after.lag_seconds) == (
        "p2",
        9,
        1,
        1.5,
    )
    [letter] = store.dead_letters("siem")
    assert (letter.event_id, letter.reason, letter.payload) == (
        event.event_id,
        "HTTP 400: bad",
        "the line",
    )


def test_a_rewind_wins_over_an_advance_that_was_in_flight(store: CursorStore) -> None:
    loaded = store.load("siem")
    assert store.claim("siem", "me", 30)
    rewound = store.rewind("siem", "p0", None)
    assert rewound.generation == loaded.generation + 1
    assert not store.advance(
        loaded, "me", position="p9", position_at=None, delivered=5, lag_seconds=0
    )
    assert store.load("siem").position == "p0"
    assert store.advance(
        store.load("siem"), "me", position="p1", position_at=None, delivered=1, lag_seconds=0
    )


def test_lease_keeps_a_second_exporter_off_until_released_or_expired(store: CursorStore) -> None:
    assert not store.claim("siem", "host:1", 30)  # no cursor yet: load first
    store.load("siem")
    assert store.claim("siem", "host:1", 30)
    assert store.claim("siem", "host:1", 30)  # renew
    assert not store.claim("siem", "host:2", 30)
    state = store.load("siem")
    assert not store.advance(
        state, "host:2", position="x", position_at=None, delivered=1, lag_seconds=0
    )
    store.release("siem", "host:1")
    assert store.claim("siem", "host:2", 0.0)  # expires at once
    assert store.claim("siem", "host:3", 30)


def test_failing_state_is_recorded_and_cleared(store: CursorStore) -> None:
    store.load("siem")
    store.set_failing("siem", "HTTP 503")
    failing = store.load("siem")
    assert failing.last_error == "HTTP 503" and failing.failing_since is not None
    store.set_failing("siem", "HTTP 502")
    assert store.load("siem").failing_since == failing.failing_since  # since the first failure
    store.set_failing("siem", None)
    cleared = store.load("siem")
    assert cleared.last_error == "" and cleared.failing_since is None
