"""ECS: document shape and field mapping."""

from __future__ import annotations

import json

import pytest

from gateway.audit.events import EVENT_KINDS
from gateway.export.formats import render
from gateway.export.formats.ecs import ECS_VERSION
from tests.export.samples import sample

# Allowed values of event.kind / event.category / event.type / event.outcome (ECS 8.x).
KINDS = {"alert", "event", "metric", "state", "pipeline_error", "signal", "enrichment"}
CATEGORIES = {
    "api", "authentication", "configuration", "database", "driver", "email", "file", "host",
    "iam", "intrusion_detection", "library", "malware", "network", "package", "process",
    "registry", "session", "threat", "vulnerability", "web",
}  # fmt: skip
TYPES = {
    "access", "admin", "allowed", "change", "connection", "creation", "deletion", "denied",
    "end", "error", "group", "indicator", "info", "installation", "protocol", "start", "user",
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(EVENT_KINDS))
def test_every_kind_has_the_ecs_basics(kind: str) -> None:
    event = sample(kind)
    doc = json.loads(render("ecs", event))
    assert doc["@timestamp"] == "2026-11-26T04:27:48.882276Z"
    assert doc["ecs"] == {"version": ECS_VERSION}
    assert doc["event"]["id"] == doc["airlock"]["event_id"] == event.event_id
    assert doc["event"]["action"] == kind
    assert doc["event"]["kind"] in KINDS
    assert set(doc["event"].get("category", [])) <= CATEGORIES  # none for unknown kinds
    assert doc["event"]["type"] and set(doc["event"]["type"]) <= TYPES
    assert doc["event"]["outcome"] in ("success", "failure", "unknown")
    assert doc["observer"]["vendor"] == "Airlock"


def test_denied_request_document() -> None:
    doc = json.loads(render("ecs", sample("http-request")))
    assert doc["event"]["category"] == ["web", "network"]
    assert doc["event"]["type"] == ["access", "denied"]
    assert doc["event"]["outcome"] == "failure"
    assert doc["url"]["full"] == "https://pypi.org/simple/requests/?api_key=[MASKED]"
    assert (doc["url"]["domain"], doc["url"]["path"]) == ("pypi.org", "/simple/requests/")
    assert doc["http"]["request"]["method"] == "GET"
    assert doc["http"]["response"] == {"status_code": 403, "body": {"bytes": 312}}
    assert doc["source"] == {"ip": "127.0.0.1", "address": "127.0.0.1"}
    assert doc["destination"] == {"domain": "pypi.org", "address": "pypi.org", "port": 443}
    assert doc["rule"]["id"] == "airlock.network.destination_not_allowed"
    assert doc["rule"]["version"] == "c68be2289483"
    assert doc["user"] == {"name": "claude-1", "id": "tsk_f9a02a472d6b5d08"}
    assert doc["airlock"]["reasons"] == ["destination_not_allowed"]
    assert (doc["airlock"]["seq"], doc["airlock"]["hash"]) == (42, "cd" * 32)


def test_allowed_request_and_duration_in_nanoseconds() -> None:
    doc = json.loads(render("ecs", sample("http-stream-end")))
    assert doc["event"]["type"] == ["access", "allowed"]
    assert doc["event"]["outcome"] == "success"
    assert doc["event"]["duration"] == 38_283_000


def test_findings_are_alerts_and_control_events_say_what_changed() -> None:
    finding = json.loads(render("ecs", sample("secret-finding")))
    assert finding["event"]["kind"] == "alert"
    assert finding["airlock"]["detail"]["fingerprint"] == "1a2b3c4d5e6f7a8b"
    rotated = json.loads(render("ecs", sample("credential-rotated")))
    assert (rotated["event"]["category"], rotated["event"]["type"]) == (["iam"], ["change"])
    start = json.loads(render("ecs", sample("component-start")))
    assert start["event"]["type"] == ["start"]


def test_ip_destination_and_empty_fields_left_out() -> None:
    doc = json.loads(render("ecs", sample("tunnel-refused", host="10.0.0.5", port=5432)))
    assert doc["destination"]["ip"] == "10.0.0.5"
    assert "url" not in doc and "domain" not in doc["destination"]
    bare = json.loads(render("ecs", sample("component-stop")))
    assert "url" not in bare and "http" not in bare and "rule" not in bare


def test_render_is_one_compact_line() -> None:
    line = render("ecs", sample("http-request", agent="a\nb"))
    assert "\n" not in line and '": ' not in line
