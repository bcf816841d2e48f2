"""``airlock export replay`` options and errors, with the query API call replaced.

The API is replaced (monkeypatched ``api_get``) to pin what the command asks for
and how it fails without starting a gateway; tests/integration/test_export_replay.py
runs the real command against a real ``airlock up``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gateway.cli import main
from gateway.errors import AirlockError
from tests.export.test_replay import api_row


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, Any]]:
    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path / "home"))
    seen: list[dict[str, Any]] = []

    def fake_api_get(settings: object, path: str, params: dict[str, Any]) -> dict[str, Any]:
        assert path == "/v1/events"
        seen.append(params)
        return {"events": [api_row("http-request"), api_row("task-created")], "next_cursor": None}

    monkeypatch.setattr("gateway.cli_export.api_get", fake_api_get)
    return seen


def run(*args: str) -> Any:
    return CliRunner().invoke(main, ["export", "replay", *args])


def test_replay_to_a_file(calls: list[dict[str, Any]], tmp_path: Path) -> None:
    out = tmp_path / "trail.jsonl"
    result = run(
        "--format", "ecs", "--from", "2026-11-26T00:00:00Z", "--to", "1795737600",
        "--out", str(out), "--agent", "claude-1", "--task", "tsk_1", "--kind", "http-request",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    docs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [d["event"]["action"] for d in docs] == ["http-request", "task-created"]
    assert "2 events written to" in result.stderr
    params = calls[0]
    assert (params["from"], params["to"]) == (
        "2026-11-26T00:00:00.000000Z",
        "2026-11-27T00:00:00.000000Z",
    )
    assert (params["agent"], params["task_id"], params["kind"]) == (
        "claude-1",
        "tsk_1",
        "http-request",
    )


def test_replay_to_standard_output(calls: list[dict[str, Any]]) -> None:
    result = run("--format", "leef", "--from", "2026-11-26", "--to", "2026-11-27", "--out", "-")
    assert result.exit_code == 0, result.output
    assert [line[:9] for line in result.stdout.splitlines()] == ["LEEF:2.0|"] * 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "yesterday", "--to", "2026-11-27"], "invalid --from 'yesterday'"),
        (["--from", "2026-11-27", "--to", "2026-11-26"], "--from must be before --to"),
    ],
)
def test_bad_window_is_an_airlock_error(
    calls: list[dict[str, Any]], args: list[str], message: str
) -> None:
    result = run("--format", "cef", "--out", "-", *args)
    assert result.exit_code == 2
    assert f"error: {message}" in result.stderr
    assert calls == []


@pytest.mark.parametrize(
    "args",
    [
        ["--format", "xml", "--from", "2026-11-26", "--to", "2026-11-27", "--out", "-"],
        ["--format", "cef", "--from", "2026-11-26", "--to", "2026-11-27"],
        ["--format", "cef", "--to", "2026-11-27", "--out", "-"],
    ],
)
def test_usage_errors(calls: list[dict[str, Any]], args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 2 and "Usage:" in result.output
    assert calls == []


def test_api_failure_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path / "home"))

    def down(settings: object, path: str, params: dict[str, Any]) -> dict[str, Any]:
        raise AirlockError("query API at http://127.0.0.1:8081 unreachable: refused")

    monkeypatch.setattr("gateway.cli_export.api_get", down)
    out = tmp_path / "x.cef"
    result = run("--format", "cef", "--from", "2026-11-26", "--to", "2026-11-27", "--out", str(out))
    assert result.exit_code == 2 and "unreachable" in result.stderr
    assert not out.exists()
