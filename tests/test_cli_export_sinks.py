"""``airlock export status|rewind|dead-letters|run`` without a running Airlock.

The control-plane database and the spool are real (a temporary home); ``run`` against a
live query API is covered end to end in tests/export/test_export_process.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.audit.events import AuditEvent
from gateway.audit.spool import Position, read_records
from gateway.cli import main
from gateway.config import load_settings
from gateway.export.cursor import CursorStore
from gateway.export.sink import Record, Rejected
from gateway.runtime import build_control_plane

SINKS = {
    "sinks": [
        {"name": "archive", "format": "ocsf", "transport": "file", "path": "/tmp/never-written"},
        {"name": "off", "format": "cef", "transport": "file", "path": "/x", "enabled": False},
    ]
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AIRLOCK_EXPORT", json.dumps(SINKS))
    monkeypatch.setenv("AIRLOCK_API_LISTEN", "127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("AIRLOCK_CONFIG", raising=False)
    return tmp_path / "home"


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["export", *args])
    return result.exit_code, result.output


def spooled_kinds(home: Path) -> list[AuditEvent]:
    out = []
    for stream in (home / "spool").iterdir():
        payloads = read_records(stream, Position(1, 0), 1000).payloads
        out += [AuditEvent.from_bytes(p) for p in payloads]
    return out


def test_status_lists_configured_sinks_before_they_ran(home: Path) -> None:
    code, out = invoke("status", "--json")
    assert code == 0, out
    rows = json.loads(out)["sinks"]
    assert [(r["sink"], r["enabled"]) for r in rows] == [("archive", True), ("off", False)]
    assert "delivered" not in rows[0]
    assert "not started" in invoke("status")[1]


def test_rewind_moves_the_cursor_and_records_an_event(home: Path) -> None:
    code, out = invoke("rewind", "--sink", "archive", "--from", "2026-11-24T15:00:00Z", "--json")
    assert code == 0, out
    assert json.loads(out) == {
        "sink": "archive",
        "position_at": "2026-11-24T15:00:00Z",
        "generation": 1,
    }
    status = {r["sink"]: r for r in json.loads(invoke("status", "--json")[1])["sinks"]}
    assert status["archive"]["position_at"] == "2026-11-24T15:00:00Z"
    [event] = [e for e in spooled_kinds(home) if e.kind == "export-rewound"]
    assert event.detail == {
        "sink": "archive",
        "from": "2026-11-24T15:00:00Z",
        "by": "cli",
        "previous": "",
    }


def test_dead_letters_are_listed_newest_first(home: Path) -> None:
    cursors = CursorStore(build_control_plane(load_settings()).sessions)
    state = cursors.load("archive")
    assert cursors.claim("archive", "t:1", 30)
    refused = [
        Rejected(Record(AuditEvent(kind="http-request"), f"line {i}"), f"HTTP 400 #{i}")
        for i in range(2)
    ]
    assert cursors.advance(
        state, "t:1", position="p", position_at=None, delivered=0, lag_seconds=0, rejected=refused
    )
    code, out = invoke("dead-letters", "--sink", "archive", "--json")
    assert code == 0, out
    letters = json.loads(out)["dead_letters"]
    assert [d["reason"] for d in letters] == ["HTTP 400 #1", "HTTP 400 #0"]
    assert letters[0]["payload"] == "line 1"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("run", "--sink", "nope"), "no export sink named 'nope' (archive, off)"),
        (("rewind", "--sink", "nope", "--from", "2026-01-01"), "no export sink named 'nope'"),
        (("rewind", "--sink", "archive", "--from", "yesterday"), "invalid from 'yesterday'"),
        (("run", "--sink", "archive", "--to", "2026-01-01"), "--to needs --from"),
    ],
)
def test_errors_exit_2_with_a_message(home: Path, args: tuple[str, ...], message: str) -> None:
    code, out = invoke(*args)
    assert code == 2
    assert message in out


def test_run_once_with_the_api_down_fails_instead_of_waiting(home: Path) -> None:
    code, out = invoke("run", "--sink", "archive", "--once")
    assert code == 2, out
    assert "0 records delivered" in out and "query API unreachable" in out
