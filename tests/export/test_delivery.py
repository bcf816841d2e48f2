"""The delivery loop: batching, filters, retries, dead letters, at-least-once across restarts.

The feed is an in-memory list standing in for the query API (the end-to-end tests in
tests/integration/test_export_e2e.py use the real one); cursors are the real SQLite
store; the receiver is either a real rotating file or a scripted stand-in that fails
on cue.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from gateway.audit.events import AuditEvent
from gateway.control.db import make_engine, make_sessionmaker
from gateway.export.config import SinkSettings
from gateway.export.cursor import CursorStore
from gateway.export.delivery import SinkRunner, matches
from gateway.export.feed import FeedPage
from gateway.export.formats import render
from gateway.export.sink import BatchRejected, Record, Rejected, TransientError
from gateway.export.transports.files import RotatingFile
from tests.export.sink_support import make_event


class ListFeed:
    def __init__(self, events: Sequence[AuditEvent] = ()) -> None:
        self.events = list(events)
        self.fetches = 0
        self._lock = threading.Lock()

    def add(self, events: Sequence[AuditEvent]) -> None:
        with self._lock:
            self.events += events

    def fetch(self, after: str, limit: int) -> FeedPage:
        with self._lock:
            self.fetches += 1
            start = int(after or 0)
            page = self.events[start : start + limit]
            end = start + len(page)
            return FeedPage(page, str(end), None, more=end < len(self.events))


class Receiver:
    """Accepts batches, fails while ``down``, refuses lines in ``poison`` for their content."""

    name = "scripted"

    def __init__(self) -> None:
        self.down, self.poison = 0, set[str]()
        self.batches: list[list[str]] = []

    def push(self, batch: Sequence[Record]) -> list[Rejected]:
        if self.down:
            self.down -= 1
            raise TransientError("connection refused")
        if any(r.line in self.poison for r in batch):
            raise BatchRejected("HTTP 400")
        self.batches.append([r.line for r in batch])
        return []

    def close(self) -> None:
        pass

    def lines(self) -> list[str]:
        return [line for batch in self.batches for line in batch]


@pytest.fixture
def cursors(tmp_path: Path) -> CursorStore:
    return CursorStore(make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'control.db'}")))


def sink(**fields: object) -> SinkSettings:
    base: dict[str, object] = {"name": "s", "format": "cef", "transport": "file", "path": "/x"}
    base |= {"batch_events": 10, "batch_ms": 0, "retry_max_ms": 100}
    return SinkSettings.model_validate(base | fields)


def runner(
    settings: SinkSettings,
    feed: ListFeed,
    transport: object,
    cursors: CursorStore,
    notes: list[tuple[str, dict[str, str]]] | None = None,
    stop: threading.Event | None = None,
    owner: str = "test:1",
) -> SinkRunner:
    seen = notes if notes is not None else []
    return SinkRunner(
        settings,
        feed=feed,
        transport=transport,  # type: ignore[arg-type]
        render=lambda fmt, e: f"{fmt}:{e.event_id}",
        cursors=cursors,
        owner=owner,
        stop=stop or threading.Event(),
        notify=lambda kind, detail: seen.append((kind, detail)),
        poll_s=0.01,
    )


def ids(events: Sequence[AuditEvent]) -> list[str]:
    return [f"cef:{e.event_id}" for e in events]


def test_everything_arrives_in_order_in_batches_and_the_cursor_ends_at_the_end(
    cursors: CursorStore,
) -> None:
    events = [make_event(i) for i in range(25)]
    receiver = Receiver()
    runner(sink(), ListFeed(events), receiver, cursors).run(once=True)
    assert [len(b) for b in receiver.batches] == [10, 10, 5]
    assert receiver.lines() == ids(events)
    state = cursors.load("s")
    assert (state.position, state.delivered, state.lag_seconds) == ("25", 25, 0.0)


def test_real_format_into_a_real_file(cursors: CursorStore, tmp_path: Path) -> None:
    events = [make_event(i) for i in range(3)]
    out = tmp_path / "out.jsonl"
    run = runner(sink(format="ocsf"), ListFeed(events), RotatingFile(out), cursors)
    run.render = render
    run.run(once=True)
    lines = out.read_text().splitlines()
    assert lines == [render("ocsf", e) for e in events]
    assert all(e.event_id in line for e, line in zip(events, lines, strict=True))


def test_filters_drop_events_but_the_cursor_moves_past_them(cursors: CursorStore) -> None:
    events = [
        make_event(0, agent="a"),
        make_event(1, agent="b"),
        make_event(2, agent="a", kind="task-killed"),  # warning
        make_event(3, agent="a", kind="secret-finding"),  # high
    ]
    settings = sink(agents=["a"], min_severity="warning")
    assert [matches(settings, e) for e in events] == [False, False, True, True]
    assert not matches(sink(kinds=["task-killed"]), events[3])
    receiver = Receiver()
    runner(settings, ListFeed(events), receiver, cursors).run(once=True)
    assert receiver.lines() == ids(events[2:])
    assert cursors.load("s").position == "4"


def test_a_batch_waits_batch_ms_for_more_events(cursors: CursorStore) -> None:
    feed = ListFeed([make_event(0)])
    receiver = Receiver()
    settings = sink(batch_events=100, batch_ms=600)
    threading.Timer(0.15, feed.add, args=([make_event(1), make_event(2)],)).start()
    runner(settings, feed, receiver, cursors).run(once=True)
    assert [len(b) for b in receiver.batches] == [3]  # one batch, not three


def test_outage_is_retried_reported_once_and_recovered(cursors: CursorStore) -> None:
    events = [make_event(i) for i in range(5)]
    receiver, notes = Receiver(), []
    receiver.down = 4
    run = runner(sink(), ListFeed(events), receiver, cursors, notes)
    run.run(once=True)
    assert receiver.lines() == ids(events)
    assert [kind for kind, _ in notes] == ["export-failed", "export-recovered"]
    assert notes[0][1]["error"] == "connection refused"
    assert notes[1][1]["attempts"] == "4"
    assert run.stats.failures == 4 and not run.stats.failing
    assert cursors.load("s").failing_since is None


def test_stopping_mid_outage_keeps_the_batch_for_the_next_run(cursors: CursorStore) -> None:
    events = [make_event(i) for i in range(5)]
    receiver, stop = Receiver(), threading.Event()
    receiver.down = 10**6
    first = runner(sink(), ListFeed(events), receiver, cursors, stop=stop, owner="a:1")
    thread = threading.Thread(target=first.run)
    thread.start()
    time.sleep(0.3)
    stop.set()
    thread.join(5)
    first.close()  # releases the lease
    state = cursors.load("s")
    assert state.position == "" and state.last_error == "connection refused"
    receiver.down = 0
    runner(sink(), ListFeed(events), receiver, cursors, owner="b:2").run(once=True)
    assert receiver.lines() == ids(events)


def test_refused_records_become_dead_letters_and_the_rest_is_delivered(
    cursors: CursorStore,
) -> None:
    events = [make_event(i) for i in range(6)]
    receiver, notes = Receiver(), []
    receiver.poison = {f"cef:{events[4].event_id}"}
    run = runner(sink(), ListFeed(events), receiver, cursors, notes)
    run.run(once=True)
    assert receiver.lines() == ids(events[:4] + events[5:])
    [letter] = cursors.dead_letters("s")
    assert letter.event_id == events[4].event_id and letter.reason == "HTTP 400"
    state = cursors.load("s")
    assert (state.position, state.delivered, state.dead_letters) == ("6", 5, 1)
    assert notes == [
        (
            "export-dead-letter",
            {"sink": "s", "count": "1", "event_ids": events[4].event_id, "reason": "HTTP 400"},
        )
    ]


def test_an_event_that_cannot_be_rendered_is_a_dead_letter(cursors: CursorStore) -> None:
    events = [make_event(i) for i in range(3)]
    receiver = Receiver()
    run = runner(sink(), ListFeed(events), receiver, cursors)

    def fragile(fmt: str, event: AuditEvent) -> str:
        if event is events[1]:
            raise ValueError("no renderer for this")
        return f"{fmt}:{event.event_id}"

    run.render = fragile
    run.run(once=True)
    assert receiver.lines() == ids([events[0], events[2]])
    assert cursors.dead_letters("s")[0].reason.startswith("render failed: ValueError")


def test_rewind_re_delivers_from_the_new_position(cursors: CursorStore) -> None:
    events = [make_event(i) for i in range(4)]
    receiver = Receiver()
    runner(sink(), ListFeed(events), receiver, cursors).run(once=True)
    cursors.rewind("s", "2", None)
    runner(sink(), ListFeed(events), receiver, cursors).run(once=True)
    assert receiver.lines() == ids(events) + ids(events[2:])


def test_a_second_exporter_waits_for_the_lease(cursors: CursorStore) -> None:
    events = [make_event(0)]
    cursors.load("s")
    assert cursors.claim("s", "other:9", 30)
    receiver = Receiver()
    run = runner(sink(), ListFeed(events), receiver, cursors)
    run.run(once=True)
    assert receiver.batches == []
    assert "lease" in run.stats.last_error
