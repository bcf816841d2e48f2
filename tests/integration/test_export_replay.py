"""``airlock export replay`` against a real ``airlock up``: real traffic, real query API.

A task is created, makes one allowed and one denied request through the proxy, and the
CLI replays that window in every format; each file is parsed back and checked against
the events the query API returns.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.export.formats import FORMAT_NAMES
from tests.export.formats.test_cef import parse as parse_cef
from tests.export.formats.test_leef import parse as parse_leef
from tests.export.formats.test_ocsf import assert_valid
from tests.support.airlock import AirlockInstance, curl
from tests.support.upstream import HttpsUpstream

pytestmark = pytest.mark.integration

ISO = "%Y-%m-%dT%H:%M:%S.%fZ"


@pytest.fixture(scope="module")
def trail(airlock: AirlockInstance, upstream: HttpsUpstream, auditor_key: str) -> dict[str, Any]:
    """A task with task-created, an allowed GET and a denied DELETE; its API events."""
    since = datetime.now(UTC) - timedelta(seconds=1)
    profile = [
        {"host": "localhost", "ports": [upstream.port], "methods": ["GET"], "allow_private": True}
    ]
    airlock.add_profile("export-replay", profile)
    task = airlock.create_task("export-agent", "export-replay")
    for method, code in (("GET", "200"), ("DELETE", "403")):
        out = curl(
            task, "-X", method, "-o", "/dev/null", "-w", "%{http_code}", upstream.url + "/echo"
        )
        assert out.stdout == code, out.stderr
    events = airlock.wait_events(
        auditor_key,
        lambda evs: sum(e["kind"] == "http-request" for e in evs) == 2,
        task_id=task["task_id"],
        order="asc",
    )
    until = datetime.now(UTC) + timedelta(minutes=1)
    return {"task": task, "events": events, "from": since.strftime(ISO), "to": until.strftime(ISO)}


def replay(airlock: AirlockInstance, trail: dict[str, Any], fmt: str, out: str) -> Any:
    return airlock.cli(
        "export", "replay", "--format", fmt, "--from", trail["from"], "--to", trail["to"],
        "--task", trail["task"]["task_id"], "--out", out,
    )  # fmt: skip


@pytest.fixture(scope="module")
def files(
    airlock: AirlockInstance, trail: dict[str, Any], tmp_path_factory: Any
) -> dict[str, list[str]]:
    root: Path = tmp_path_factory.mktemp("replay")
    lines = {}
    for fmt in FORMAT_NAMES:
        done = replay(airlock, trail, fmt, str(root / f"trail.{fmt}"))
        assert f"{len(trail['events'])} events written" in done.stderr
        lines[fmt] = (root / f"trail.{fmt}").read_text(encoding="utf-8").splitlines()
    return lines


def test_the_window_holds_the_task_and_both_requests(trail: dict[str, Any]) -> None:
    kinds = [e["kind"] for e in trail["events"]]
    assert kinds[0] == "task-created" and kinds.count("http-request") == 2
    assert [e["decision"] for e in trail["events"] if e["kind"] == "http-request"] == [
        "allow",
        "deny",
    ]


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_one_line_per_event_in_api_order(
    files: dict[str, list[str]], trail: dict[str, Any], fmt: str
) -> None:
    ids = [e["event_id"] for e in trail["events"]]
    lines = files[fmt]
    if fmt == "ocsf":
        got = [json.loads(line)["metadata"]["uid"] for line in lines]
    elif fmt == "ecs":
        got = [json.loads(line)["event"]["id"] for line in lines]
    elif fmt == "hec":
        got = [json.loads(line)["event"]["event_id"] for line in lines]
    elif fmt == "cef":
        got = [parse_cef(line)[1]["externalId"] for line in lines]
    else:
        got = [parse_leef(line)[1]["eventId"] for line in lines]
    assert got == ids


def test_ocsf_records_are_valid_and_carry_the_decisions(
    files: dict[str, list[str]], trail: dict[str, Any]
) -> None:
    records = [json.loads(line) for line in files["ocsf"]]
    for record in records:
        assert_valid(record)
    assert [r["class_uid"] for r in records] == [6003, 4002, 4002]
    allowed, denied = records[1], records[2]
    assert (allowed["action"], denied["action"]) == ("Allowed", "Denied")
    assert denied["policy"]["version"] == trail["events"][2]["policy_revision"] != ""
    assert denied["http_request"]["http_method"] == "DELETE"
    assert denied["http_response"]["code"] == 403


def test_cef_and_leef_carry_the_verdicts(
    files: dict[str, list[str]], trail: dict[str, Any]
) -> None:
    cef = [parse_cef(line) for line in files["cef"]]
    assert [ext.get("act") for _, ext in cef] == [None, "allowed", "denied"]
    assert cef[2][0][5] == "http-request denied"
    assert cef[2][1]["suid"] == trail["task"]["task_id"]
    leef = [parse_leef(line)[1] for line in files["leef"]]
    assert [a["cat"] for a in leef] == ["task-created", "http-request", "http-request"]
    assert leef[2]["status"] == "403" and leef[2]["method"] == "DELETE"


def test_hec_events_are_the_api_events(files: dict[str, list[str]], trail: dict[str, Any]) -> None:
    for line, api in zip(files["hec"], trail["events"], strict=True):
        event = json.loads(line)["event"]
        assert event == {k: api[k] for k in event}


def test_ecs_types(files: dict[str, list[str]]) -> None:
    docs = [json.loads(line) for line in files["ecs"]]
    assert [d["event"]["type"] for d in docs] == [
        ["creation"],
        ["access", "allowed"],
        ["access", "denied"],
    ]


def test_standard_output_and_kind_filter(airlock: AirlockInstance, trail: dict[str, Any]) -> None:
    done = airlock.cli(
        "export", "replay", "--format", "ocsf", "--from", trail["from"], "--to", trail["to"],
        "--task", trail["task"]["task_id"], "--kind", "http-request", "--out", "-",
    )  # fmt: skip
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["activity_name"] for r in records] == ["Get", "Delete"]
    assert "2 events written to standard output (ocsf)." in done.stderr


def test_a_bad_window_exits_2(airlock: AirlockInstance, trail: dict[str, Any]) -> None:
    done = airlock.cli(
        "export", "replay", "--format", "cef", "--from", trail["to"], "--to", trail["from"],
        "--out", "-", check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "error: --from must be before --to" in done.stderr
