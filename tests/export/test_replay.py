"""``gateway.export.replay``: API rows back into events, pagination, atomic output.

The query API is replaced by a function returning pages here, so that paging and
failure half-way can be pinned exactly; the real API and CLI are exercised end to end
in tests/integration/test_export_replay.py.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.audit.events import EVENT_KINDS, clickhouse_row
from gateway.errors import AirlockError, InvalidRequestError
from gateway.export.replay import PAGE_SIZE, Window, fetch, replay, row_to_event
from gateway.query.events_query import shape_event
from tests.export.samples import sample

WINDOW = Window(datetime(2026, 11, 26, tzinfo=UTC), datetime(2026, 11, 27, tzinfo=UTC))


def api_row(kind: str, **overrides: Any) -> dict[str, Any]:
    """What ``/v1/events`` returns for an event: the stored row, shaped by the API code."""
    row = clickhouse_row(sample(kind, **overrides), "proxy")
    return shape_event({**row, "ts_raw": row["ts"]})


class FakeApi:
    """Serves ``rows`` in pages of ``size`` with opaque cursors and records every call."""

    def __init__(self, rows: list[dict[str, Any]], size: int, fail_on_page: int = -1) -> None:
        self.rows, self.size, self.fail_on_page = rows, size, fail_on_page
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((path, params))
        page = int(params["cursor"] or "0")
        if page == self.fail_on_page:
            raise AirlockError("query API at http://127.0.0.1:1 unreachable")
        rows = self.rows[page * self.size : (page + 1) * self.size]
        more = (page + 1) * self.size < len(self.rows)
        return {"events": rows, "next_cursor": str(page + 1) if more else None}


@pytest.mark.parametrize("kind", sorted(EVENT_KINDS))
def test_an_api_row_becomes_the_same_event(kind: str) -> None:
    event = sample(kind, detail={"a": "1", "b": "x=y"})
    row = clickhouse_row(event, "proxy")
    assert row_to_event(shape_event({**row, "ts_raw": row["ts"]})) == event


def test_unknown_columns_are_ignored() -> None:
    row = {**api_row("http-request"), "ingested_at": "2026-11-26 04:27:49.000", "tier": "hot"}
    row["spool_stream"] = "proxy"
    assert row_to_event(row).host == "pypi.org"


def test_a_row_that_is_no_event_is_an_error_naming_it() -> None:
    row = {**api_row("http-request"), "kind": "no-such-kind"}
    with pytest.raises(AirlockError, match=row["event_id"]):
        row_to_event(row)


def test_fetch_pages_oldest_first_with_the_cursor() -> None:
    rows = [api_row("http-request") for _ in range(5)]
    api = FakeApi(rows, size=2)
    window = Window(WINDOW.since, WINDOW.until, agent="claude-1", task_id="tsk_1", kind="x")
    events = list(fetch(api, window))
    assert [e.event_id for e in events] == [r["event_id"] for r in rows]
    assert [p["cursor"] for _, p in api.calls] == [None, "1", "2"]
    path, params = api.calls[0]
    assert path == "/v1/events"
    assert params["order"] == "asc" and params["limit"] == PAGE_SIZE
    assert (params["from"], params["to"]) == (
        "2026-11-26T00:00:00.000000Z",
        "2026-11-27T00:00:00.000000Z",
    )
    assert (params["agent"], params["task_id"], params["kind"]) == ("claude-1", "tsk_1", "x")


def test_window_must_not_be_empty() -> None:
    with pytest.raises(InvalidRequestError, match="--from must be before --to"):
        Window(WINDOW.until, WINDOW.since)


def test_replay_writes_one_line_per_event(tmp_path: Path) -> None:
    rows = [api_row(kind) for kind in sorted(EVENT_KINDS)]
    out = tmp_path / "trail.ocsf.jsonl"
    assert replay(FakeApi(rows, size=7), WINDOW, "ocsf", str(out), io.StringIO()) == len(rows)
    lines = out.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == "" and len(lines) == len(rows) + 1
    assert [json.loads(line)["metadata"]["uid"] for line in lines[:-1]] == [
        r["event_id"] for r in rows
    ]
    assert list(tmp_path.iterdir()) == [out]


def test_replay_to_standard_output() -> None:
    stdout = io.StringIO()
    assert replay(FakeApi([api_row("task-created")], size=5), WINDOW, "cef", "-", stdout) == 1
    assert (
        stdout.getvalue().startswith("CEF:0|Airlock|Airlock|")
        and stdout.getvalue().count("\n") == 1
    )


def test_a_failed_replay_leaves_the_old_file_and_no_part_file(tmp_path: Path) -> None:
    out = tmp_path / "trail.cef"
    out.write_text("previous export\n")
    api = FakeApi([api_row("http-request") for _ in range(5)], size=2, fail_on_page=2)
    with pytest.raises(AirlockError, match="unreachable"):
        replay(api, WINDOW, "cef", str(out), io.StringIO())
    assert out.read_text() == "previous export\n"
    assert list(tmp_path.iterdir()) == [out]


def test_unwritable_output_is_an_airlock_error(tmp_path: Path) -> None:
    with pytest.raises(AirlockError, match="cannot write"):
        replay(
            FakeApi([], size=1), WINDOW, "ecs", str(tmp_path / "no" / "such.json"), io.StringIO()
        )


def test_unknown_format_fails_before_reading() -> None:
    api = FakeApi([], size=1)
    with pytest.raises(InvalidRequestError, match="unknown export format"):
        replay(api, WINDOW, "syslog", "-", io.StringIO())
    assert api.calls == []
